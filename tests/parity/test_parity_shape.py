"""Differential table: shape functions (views, joins, splits) and rearranging functions (flip,
roll, triangles, diagonals, repeats, grids) against PyTorch: values, dtypes, shapes, gradients
and exception types."""

import numpy as np
import pytest

pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

R = np.random.default_rng(0)


def f64(*shape):
    return R.standard_normal(shape)


def f32(*shape):
    return R.standard_normal(shape).astype(np.float32)


def i64(*shape):
    return R.integers(-5, 5, shape).astype(np.int64)


def i32(*shape):
    return R.integers(-5, 5, shape).astype(np.int32)


def b(*shape):
    return R.random(shape) > 0.5


A = f64(2, 3, 4)
M = f64(3, 4)
S = f64()
E = f64(0, 3)
V = f64(5)

CASES = [
    # reshape / view / flatten / unflatten / ravel
    ("reshape", lambda m, x: x.reshape(4, -1), Arg(A)),
    ("reshape-0d", lambda m, x: x.reshape(1, 1), Arg(S)),
    ("reshape-empty", lambda m, x: x.reshape(-1, 0), Arg(E)),
    ("reshape-bad", lambda m, x: x.reshape(5, -1), Arg(A)),
    ("reshape-two-unknown", lambda m, x: x.view(-1, -1), Arg(A)),
    ("reshape-int", lambda m, x: m.reshape(x, (3, 4)), Arg(i32(12))),
    ("view-T", lambda m, x: x.t().reshape(-1), Arg(M)),
    ("view-tuple", lambda m, x: x.view((6, 4)), Arg(A)),
    ("flatten", lambda m, x: m.flatten(x, 1), Arg(A)),
    ("flatten-neg", lambda m, x: x.flatten(-2, -1), Arg(A)),
    ("flatten-0d", lambda m, x: x.flatten(), Arg(S)),
    ("flatten-bad-order", lambda m, x: x.flatten(2, 1), Arg(A)),
    ("flatten-out-of-range", lambda m, x: x.flatten(0, 3), Arg(A)),
    ("unflatten", lambda m, x: x.unflatten(2, (2, -1)), Arg(A)),
    ("unflatten-neg", lambda m, x: m.unflatten(x, -1, (2, 2)), Arg(A)),
    ("unflatten-bad", lambda m, x: x.unflatten(1, (2, 2)), Arg(A)),
    ("ravel-T", lambda m, x: m.ravel(x.t()), Arg(M)),
    ("ravel-bool", lambda m, x: x.ravel(), Arg(b(2, 2))),
    # permute / transpose / movedim
    ("permute", lambda m, x: x.permute(2, 0, 1), Arg(A)),
    ("permute-neg", lambda m, x: m.permute(x, (-1, 0, 1)), Arg(A)),
    ("permute-dup", lambda m, x: x.permute(0, 0, 1), Arg(A)),
    ("permute-range", lambda m, x: x.permute(0, 1, 3), Arg(A)),
    ("permute-count", lambda m, x: x.permute(0, 1), Arg(A)),
    ("transpose", lambda m, x: m.transpose(x, 0, -1), Arg(A)),
    ("transpose-range", lambda m, x: x.transpose(0, 3), Arg(A)),
    ("transpose-0d", lambda m, x: x.transpose(0, -1), Arg(S)),
    ("swapaxes", lambda m, x: m.swapaxes(x, 1, 2), Arg(A)),
    ("swapdims", lambda m, x: x.swapdims(-1, 0), Arg(i64(2, 3))),
    ("t", lambda m, x: x.t(), Arg(M)),
    ("t-1d", lambda m, x: m.t(x), Arg(V)),
    ("t-3d", lambda m, x: x.t(), Arg(A)),
    ("movedim", lambda m, x: m.movedim(x, 0, -1), Arg(A)),
    ("movedim-tuple", lambda m, x: m.movedim(x, (0, 1), (2, 0)), Arg(A)),
    ("moveaxis", lambda m, x: x.moveaxis(-1, 0), Arg(A)),
    ("movedim-dup", lambda m, x: m.movedim(x, (0, 0), (1, 2)), Arg(A)),
    ("movedim-range", lambda m, x: m.movedim(x, 3, 0), Arg(A)),
    ("movedim-len", lambda m, x: m.movedim(x, (0, 1), (1,)), Arg(A)),
    # squeeze / unsqueeze / expand / broadcast
    ("unsqueeze", lambda m, x: x.unsqueeze(-1), Arg(M)),
    ("unsqueeze-end", lambda m, x: m.unsqueeze(x, 2), Arg(M)),
    ("unsqueeze-range", lambda m, x: x.unsqueeze(3), Arg(M)),
    ("unsqueeze-0d", lambda m, x: x.unsqueeze(0), Arg(S)),
    ("squeeze-all", lambda m, x: x.squeeze(), Arg(f64(1, 3, 1))),
    ("squeeze-dim", lambda m, x: m.squeeze(x, -1), Arg(f64(1, 3, 1))),
    ("squeeze-tuple", lambda m, x: x.squeeze((0, 1)), Arg(f64(1, 3, 1))),
    ("squeeze-not-one", lambda m, x: x.squeeze(1), Arg(f64(1, 3, 1))),
    ("squeeze-range", lambda m, x: x.squeeze(50), Arg(f64(1, 3, 1))),
    ("squeeze-0d", lambda m, x: x.squeeze(0), Arg(S)),
    ("expand", lambda m, x: x.expand(2, 3, 4), Arg(f64(3, 1))),
    ("expand-minus1", lambda m, x: x.expand(-1, 4), Arg(f64(3, 1))),
    ("expand-lead-minus1", lambda m, x: x.expand(-1, 3, 4), Arg(f64(3, 1))),
    ("expand-bad", lambda m, x: x.expand(2, 4), Arg(f64(3, 1))),
    ("expand-0d", lambda m, x: x.expand(2, 2), Arg(S)),
    ("expand-int", lambda m, x: x.expand(2, 3), Arg(i32(1, 3))),
    ("broadcast_to", lambda m, x: m.broadcast_to(x, (2, 3, 4)), Arg(f64(4))),
    ("broadcast_to-bad", lambda m, x: m.broadcast_to(x, (3, 3)), Arg(f64(4))),
    ("broadcast_tensors", lambda m, x, y: m.broadcast_tensors(x, y), Arg(f64(3, 1)),
     Arg(f64(4))),
    ("broadcast_tensors-bad", lambda m, x, y: m.broadcast_tensors(x, y), Arg(f64(3)),
     Arg(f64(4))),
    ("broadcast_shapes", lambda m: tuple(m.broadcast_shapes((3, 1), (4,), ()))),
    # unfold (the Tensor method)
    ("unfold", lambda m, x: x.unfold(1, 2, 1), Arg(M)),
    ("unfold-step", lambda m, x: x.unfold(-1, 2, 3), Arg(A)),
    ("unfold-0d", lambda m, x: x.unfold(0, 1, 1), Arg(S)),
    ("unfold-too-big", lambda m, x: x.unfold(1, 5, 1), Arg(M)),
    ("unfold-int", lambda m, x: x.unfold(0, 3, 2), Arg(i64(7))),
    # joins
    ("cat", lambda m, x, y: m.cat([x, y], 1), Arg(M), Arg(f64(3, 2))),
    ("cat-neg", lambda m, x, y: m.cat((x, y), -1), Arg(M), Arg(f64(3, 2))),
    ("cat-promote", lambda m, x, y: m.cat([x, y]), Arg(f32(2, 2)), Arg(i64(1, 2))),
    ("cat-empty-1d", lambda m, x, y: m.cat([x, y]), Arg(M), Arg(np.zeros(0))),
    ("cat-mismatch", lambda m, x, y: m.cat([x, y], 1), Arg(M), Arg(f64(2, 2))),
    ("cat-none", lambda m: m.cat([])),
    ("cat-0d", lambda m, x: m.cat([x, x]), Arg(S)),
    ("cat-range", lambda m, x: m.cat([x, x], 2), Arg(M)),
    ("concat", lambda m, x: m.concat([x, x.t().t()], 0), Arg(M)),
    ("concatenate", lambda m, x, y: m.concatenate([x, y], 0), Arg(b(2, 2)), Arg(b(1, 2))),
    ("stack", lambda m, x, y: m.stack([x, y], 1), Arg(M), Arg(f64(3, 4))),
    ("stack-neg", lambda m, x, y: m.stack([x, y], -1), Arg(M), Arg(f64(3, 4))),
    ("stack-0d", lambda m, x, y: m.stack([x, y]), Arg(S), Arg(f64())),
    ("stack-mismatch", lambda m, x, y: m.stack([x, y]), Arg(M), Arg(f64(4))),
    ("stack-range", lambda m, x: m.stack([x, x], 3), Arg(M)),
    ("hstack-1d", lambda m, x, y: m.hstack([x, y]), Arg(V), Arg(f64(2))),
    ("hstack-2d", lambda m, x, y: m.hstack((x, y)), Arg(M), Arg(f64(3, 1))),
    ("hstack-0d", lambda m, x, y: m.hstack([x, y]), Arg(S), Arg(f64(2))),
    ("vstack", lambda m, x, y: m.vstack([x, y]), Arg(f64(4)), Arg(M)),
    ("row_stack", lambda m, x, y: m.row_stack([x, y]), Arg(i64(4)), Arg(i64(4))),
    ("dstack", lambda m, x, y: m.dstack([x, y]), Arg(M), Arg(f64(3, 4))),
    ("dstack-1d", lambda m, x, y: m.dstack([x, y]), Arg(V), Arg(f64(5))),
    ("column_stack", lambda m, x, y, z: m.column_stack([x, y, z]), Arg(f64(3)),
     Arg(f64(3, 2)), Arg(f64(3))),
    ("atleast_1d", lambda m, x: m.atleast_1d(x), Arg(S)),
    ("atleast_2d", lambda m, x, y: m.atleast_2d(x, y), Arg(V), Arg(S)),
    ("atleast_3d-list", lambda m, x, y, z: m.atleast_3d([x, y, z]), Arg(V), Arg(M), Arg(S)),
    ("atleast_3d-4d", lambda m, x: m.atleast_3d(x), Arg(f64(1, 2, 1, 2))),
    # splits
    ("split-int", lambda m, x: m.split(x, 2, 1), Arg(f64(2, 5))),
    ("split-sizes", lambda m, x: x.split([1, 3, 1], -1), Arg(f64(2, 5))),
    ("split-bad-sizes", lambda m, x: x.split([1, 1], 1), Arg(f64(2, 5))),
    ("split-zero", lambda m, x: x.split(0, 1), Arg(f64(2, 5))),
    ("split-empty", lambda m, x: x.split(2), Arg(E)),
    ("chunk", lambda m, x: m.chunk(x, 3, 1), Arg(f64(2, 5))),
    ("chunk-more-than-size", lambda m, x: x.chunk(7, 0), Arg(f64(4, 2))),
    ("chunk-zero", lambda m, x: x.chunk(0), Arg(M)),
    ("chunk-range", lambda m, x: x.chunk(2, 2), Arg(M)),
    ("tensor_split-sections", lambda m, x: m.tensor_split(x, 3, 1), Arg(f64(2, 7))),
    ("tensor_split-indices", lambda m, x: m.tensor_split(x, [1, 4, 9]), Arg(f64(7))),
    ("tensor_split-tensor", lambda m, x, i: m.tensor_split(x, i, dim=1), Arg(f64(2, 7)),
     Arg(np.array([2, 3]))),
    ("tensor_split-zero", lambda m, x: m.tensor_split(x, 0), Arg(V)),
    ("hsplit", lambda m, x: m.hsplit(x, 2), Arg(f64(3, 4))),
    ("hsplit-1d", lambda m, x: m.hsplit(x, [1, 3]), Arg(V)),
    ("hsplit-uneven", lambda m, x: m.hsplit(x, 3), Arg(f64(3, 4))),
    ("vsplit", lambda m, x: m.vsplit(x, 3), Arg(f64(3, 4))),
    ("vsplit-1d", lambda m, x: m.vsplit(x, 1), Arg(V)),
    ("dsplit", lambda m, x: m.dsplit(x, [1]), Arg(A)),
    ("unbind", lambda m, x: m.unbind(x, 1), Arg(M)),
    ("unbind-neg", lambda m, x: x.unbind(-1), Arg(i64(2, 3))),
    ("unbind-0d", lambda m, x: x.unbind(), Arg(S)),
    ("narrow", lambda m, x: m.narrow(x, 1, 1, 2), Arg(M)),
    ("narrow-neg-start", lambda m, x: x.narrow(-1, -3, 2), Arg(M)),
    ("narrow-too-long", lambda m, x: x.narrow(1, 3, 2), Arg(M)),
    ("narrow-T", lambda m, x: x.t().narrow(0, 1, 2), Arg(M)),
    ("select", lambda m, x: m.select(x, 1, -1), Arg(M)),
    ("select-range", lambda m, x: x.select(1, 4), Arg(M)),
    ("select-dim-range", lambda m, x: x.select(2, 0), Arg(M)),
    # flips and rolls
    ("flip", lambda m, x: m.flip(x, (0, 2)), Arg(A)),
    ("flip-method", lambda m, x: x.flip(-1), Arg(M)),
    ("flip-dup", lambda m, x: m.flip(x, (0, 0)), Arg(M)),
    ("flip-0d", lambda m, x: m.flip(x, (0,)), Arg(S)),
    ("flip-bool", lambda m, x: m.flip(x, (1,)), Arg(b(2, 3))),
    ("flip-empty", lambda m, x: m.flip(x, (0,)), Arg(E)),
    ("fliplr", lambda m, x: m.fliplr(x), Arg(M)),
    ("fliplr-1d", lambda m, x: m.fliplr(x), Arg(V)),
    ("flipud", lambda m, x: m.flipud(x.t()), Arg(M)),
    ("roll", lambda m, x: m.roll(x, 1, 1), Arg(M)),
    ("roll-flat", lambda m, x: m.roll(x, -7), Arg(M)),
    ("roll-multi", lambda m, x: x.roll((1, -2), (0, -1)), Arg(A)),
    ("roll-big", lambda m, x: m.roll(x, 13, 0), Arg(i32(5))),
    ("roll-mismatch", lambda m, x: m.roll(x, (1, 2), 0), Arg(M)),
    ("roll-range", lambda m, x: m.roll(x, 1, 2), Arg(M)),
    ("roll-empty", lambda m, x: m.roll(x, 1, 0), Arg(E)),
    ("rot90", lambda m, x: m.rot90(x), Arg(M)),
    ("rot90-k", lambda m, x: m.rot90(x, 3, (1, 2)), Arg(A)),
    ("rot90-neg", lambda m, x: x.rot90(-1, [0, 1]), Arg(M)),
    ("rot90-k2", lambda m, x: x.rot90(2), Arg(i64(2, 3))),
    ("rot90-same", lambda m, x: m.rot90(x, 1, (0, 0)), Arg(M)),
    ("rot90-1d", lambda m, x: m.rot90(x), Arg(V)),
    # triangles and diagonals
    ("tril", lambda m, x: m.tril(x), Arg(M)),
    ("tril-k", lambda m, x: m.tril(x, -1), Arg(A)),
    ("tril-k-pos", lambda m, x: x.tril(diagonal=2), Arg(M)),
    ("triu", lambda m, x: m.triu(x, 1), Arg(M)),
    ("triu-T", lambda m, x: m.triu(x.t()), Arg(M)),
    ("triu-bool", lambda m, x: m.triu(x), Arg(b(3, 3))),
    ("tril-int", lambda m, x: m.tril(x), Arg(i32(3, 3))),
    ("tril-1d", lambda m, x: m.tril(x), Arg(V)),
    ("tril-empty", lambda m, x: m.tril(x), Arg(E)),
    ("diagonal", lambda m, x: m.diagonal(x), Arg(M)),
    ("diagonal-offset", lambda m, x: m.diagonal(x, 1), Arg(M)),
    ("diagonal-neg-offset", lambda m, x: m.diagonal(x, -2), Arg(M)),
    ("diagonal-far", lambda m, x: m.diagonal(x, 7), Arg(M)),
    ("diagonal-dims", lambda m, x: m.diagonal(x, 0, -1, 0), Arg(A)),
    ("diagonal-same", lambda m, x: m.diagonal(x, 0, 1, 1), Arg(A)),
    ("diagonal-1d", lambda m, x: m.diagonal(x), Arg(V)),
    ("diagonal-int", lambda m, x: x.diagonal(offset=1, dim1=1, dim2=2), Arg(i64(2, 3, 3))),
    ("diag-1d", lambda m, x: m.diag(x), Arg(V)),
    ("diag-1d-offset", lambda m, x: m.diag(x, -2), Arg(f64(3))),
    ("diag-2d", lambda m, x: m.diag(x, 1), Arg(M)),
    ("diag-3d", lambda m, x: m.diag(x), Arg(A)),
    ("diag-int", lambda m, x: m.diag(x), Arg(i32(3))),
    ("diag_embed", lambda m, x: m.diag_embed(x), Arg(f64(2, 3))),
    ("diag_embed-offset-dims", lambda m, x: m.diag_embed(x, 1, 0, 2), Arg(f64(2, 3))),
    ("diag_embed-neg", lambda m, x: x.diag_embed(-1, -1, -2), Arg(f64(2, 3))),
    ("diag_embed-bool", lambda m, x: m.diag_embed(x), Arg(b(3))),
    ("diagflat", lambda m, x: m.diagflat(x), Arg(f64(2, 2))),
    ("diagflat-offset", lambda m, x: m.diagflat(x, -1), Arg(V)),
    # repeats
    ("repeat", lambda m, x: x.repeat(2, 1, 3), Arg(M)),
    ("repeat-tuple", lambda m, x: x.repeat((2, 2)), Arg(V)),
    ("repeat-zero", lambda m, x: x.repeat(0, 2), Arg(M)),
    ("repeat-ones", lambda m, x: x.repeat(1, 1), Arg(M)),
    ("repeat-few", lambda m, x: x.repeat(2), Arg(M)),
    ("repeat-0d", lambda m, x: x.repeat(3), Arg(S)),
    ("repeat-int", lambda m, x: x.repeat(2, 2), Arg(i64(2, 2))),
    ("tile", lambda m, x: m.tile(x, (2,)), Arg(M)),
    ("tile-more", lambda m, x: x.tile((2, 1, 2)), Arg(M)),
    ("tile-0d", lambda m, x: m.tile(x, (2, 2)), Arg(S)),
    ("repeat_interleave-int", lambda m, x: m.repeat_interleave(x, 2), Arg(M)),
    ("repeat_interleave-dim", lambda m, x: m.repeat_interleave(x, 3, dim=1), Arg(M)),
    ("repeat_interleave-tensor", lambda m, x, r: m.repeat_interleave(x, r, dim=0),
     Arg(M), Arg(np.array([1, 0, 2]))),
    ("repeat_interleave-tensor1", lambda m, x, r: x.repeat_interleave(r, -1), Arg(M),
     Arg(np.array([2]))),
    ("repeat_interleave-0d-repeats", lambda m, x, r: x.repeat_interleave(r, 0), Arg(M),
     Arg(np.array(2))),
    ("repeat_interleave-counts", lambda m, r: m.repeat_interleave(r), Arg(np.array([2, 0, 3]))),
    ("repeat_interleave-bad", lambda m, x, r: x.repeat_interleave(r, 1), Arg(M),
     Arg(np.array([1, 2]))),
    ("repeat_interleave-0d", lambda m, x: x.repeat_interleave(2), Arg(S)),
    ("repeat_interleave-output_size", lambda m, x: x.repeat_interleave(2, 0, output_size=6),
     Arg(M)),
    # grids and index sets
    ("meshgrid-ij", lambda m, x, y: m.meshgrid(x, y, indexing="ij"), Arg(f64(3)), Arg(f64(2))),
    ("meshgrid-xy", lambda m, x, y, z: m.meshgrid(x, y, z, indexing="xy"), Arg(f64(2)),
     Arg(f64(3)), Arg(f64(4))),
    ("meshgrid-list", lambda m, x, y: m.meshgrid([x, y], indexing="xy"), Arg(i64(2)),
     Arg(i64(3))),
    ("meshgrid-0d", lambda m, x, y: m.meshgrid(x, y, indexing="ij"), Arg(S), Arg(f64(2))),
    ("meshgrid-2d", lambda m, x: m.meshgrid(x, x, indexing="ij"), Arg(M)),
    ("cartesian_prod", lambda m, x, y: m.cartesian_prod(x, y), Arg(f64(3)), Arg(f64(2))),
    ("cartesian_prod-one", lambda m, x: m.cartesian_prod(x), Arg(f64(3))),
    ("cartesian_prod-three", lambda m, x, y, z: m.cartesian_prod(x, y, z), Arg(i64(2)),
     Arg(i64(2)), Arg(i64(3))),
    ("combinations", lambda m, x: m.combinations(x), Arg(f64(4))),
    ("combinations-r3", lambda m, x: m.combinations(x, 3), Arg(f64(5))),
    ("combinations-replacement", lambda m, x: m.combinations(x, 2, True), Arg(i64(3))),
    ("combinations-r0", lambda m, x: m.combinations(x, 0), Arg(f64(3))),
    ("combinations-too-many", lambda m, x: m.combinations(x, 4), Arg(f64(3))),
    ("combinations-2d", lambda m, x: m.combinations(x), Arg(M)),
    ("tril_indices", lambda m: m.tril_indices(3, 4)),
    ("tril_indices-offset", lambda m: m.tril_indices(4, 3, -1)),
    ("triu_indices", lambda m: m.triu_indices(3, 3, 1)),
    ("triu_indices-dtype", lambda m: m.triu_indices(4, 2, -1, dtype=m.int32)),
    ("tril_indices-empty", lambda m: m.tril_indices(0, 3)),
]


@pytest.mark.parametrize("fn, args", [pytest.param(c[1], c[2:], id=c[0]) for c in CASES])
def test_shape_parity(fn, args):
    check(fn, *args)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_dtypes_keep(dtype):
    x = R.standard_normal((3, 4)).astype(dtype)
    check(lambda m, t: m.diag_embed(m.tril(t).flip(0).roll(1, 1)), Arg(x), rtol=1e-5)
    check(lambda m, t: t.repeat(2, 1).unfold(0, 2, 2).movedim(0, -1), Arg(x))
