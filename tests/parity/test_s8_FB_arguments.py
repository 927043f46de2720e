"""Session-8 (FB) fixes from the generated fuzzer, reductions / sorting / cumulative / linalg:
PyTorch's argument parser checks argument types before any dtype or shape check (a tensor
``ord``, an int ``dim`` for a matrix norm, a number where a tensor goes: TypeError), dims before
dtypes (IndexError), ``out=`` on kron / tensordot / inner / cross / chain_matmul / diff / msort /
pinv and the casts each takes, ``max(input, other=...)``, ``var(x, dim=True)``, the empty inputs
PyTorch returns for (cummax, unique along a dim, softmax of integers, trapezoid), and kron of a
transposed input (PyTorch's view of the product fails). Each row compares the exception class
(or, where PyTorch returns, the result) with PyTorch's."""

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).parent))
from parity import Arg, check  # noqa: E402

RNG = np.random.default_rng(8)
M = RNG.standard_normal((2, 3)).astype(np.float32)
B213 = RNG.standard_normal((2, 1, 3)).astype(np.float32)
V3 = RNG.standard_normal(3).astype(np.float32)
DTYPES = [np.bool_, np.uint8, np.int32, np.int64, np.float16, np.float32, np.float64]


def _typed(array, dtype) -> np.ndarray:
    return array > 0 if dtype is np.bool_ else (array * 3).astype(dtype)


def _t(m, array):
    """A tensor from an array in either library (inside a case: out= must own storage)."""
    return m.tensor(array) if m is torch else m.tensor(array, dtype=array.dtype)


def _out(m, dtype, shape=(2, 3)):
    return m.zeros(shape, dtype=getattr(m, dtype))


# (label, fn(m, x, y), second operand): the norms' ord / dim parsing comes first.
NORMS = {
    "matrix_norm(x, tensor ord)": lambda m, x, y: m.linalg.matrix_norm(x, y),
    "matrix_norm(x, dim=int)": lambda m, x, y: m.linalg.matrix_norm(x, dim=1),
    "matrix_norm(x, dim=1.0)": lambda m, x, y: m.linalg.matrix_norm(x, dim=1.0),
    "matrix_norm(x, dim=True)": lambda m, x, y: m.linalg.matrix_norm(x, dim=True),
    "matrix_norm(x, None)": lambda m, x, y: m.linalg.matrix_norm(x, None),
    "matrix_norm(x, dim=(0,))": lambda m, x, y: m.linalg.matrix_norm(x, dim=(0,)),
    "matrix_norm(x, 'nuc', (2, 2))": lambda m, x, y: m.linalg.matrix_norm(x, "nuc", (2, 2)),
    "vector_norm(x, tensor ord)": lambda m, x, y: m.linalg.vector_norm(x, y),
    "vector_norm(x, 'fro')": lambda m, x, y: m.linalg.vector_norm(x, "fro"),
    "vector_norm(x, dim=1.0)": lambda m, x, y: m.linalg.vector_norm(x, dim=1.0),
    "vector_norm(x, dim=True)": lambda m, x, y: m.linalg.vector_norm(x, dim=True),
    "vector_norm(x, dim=tensor(1))": lambda m, x, y: m.linalg.vector_norm(x, dim=m.tensor(1)),
    "linalg.norm(x, tensor ord)": lambda m, x, y: m.linalg.norm(x, y),
    "linalg.norm(x, 'fro', 1.0)": lambda m, x, y: m.linalg.norm(x, "fro", 1.0),
    "linalg.norm(x, dim=1.0)": lambda m, x, y: m.linalg.norm(x, dim=1.0),
    "dist(x, y, tensor p)": lambda m, x, y: m.dist(x, x, y),
}


@pytest.mark.parametrize("label", NORMS)
@pytest.mark.parametrize("dtype", [np.bool_, np.int64, np.float16, np.float32])
def test_norm_arguments_before_dtypes(label, dtype):
    check(NORMS[label], Arg(_typed(M, dtype), False), Arg(_typed(M, dtype), False), grad=False)


# (label, fn(m, x)) with x float32 (2, 3) unless the row says: a number or a tensor of the wrong
# kind where PyTorch's parser wants another type, and the checks PyTorch makes first.
ARGUMENTS = {
    "tensordot(x, True)": lambda m, x: m.tensordot(x, True),
    "tensordot(x, 2)": lambda m, x: m.tensordot(x, 2),
    "tensordot(x, x, 0.5)": lambda m, x: m.tensordot(x, x, 0.5),
    "tensordot(b213, x) size-1 broadcast": lambda m, x: m.tensordot(
        _t(m, B213), x),
    "tensordot(int b213, int x)": lambda m, x: m.tensordot(
        _t(m, (B213 * 3).astype(np.int32)), x.int()),
    "bincount(int, True)": lambda m, x: m.bincount(x.long().abs().flatten(), True),
    "bincount(float, 2)": lambda m, x: m.bincount(x, 2),
    "triangular_solve(x, True)": lambda m, x: m.triangular_solve(x, True),
    "triangular_solve(x, x, 2)": lambda m, x: m.triangular_solve(x, x, 2),
    "solve_ex(x, True)": lambda m, x: m.linalg.solve_ex(x, True),
    "solve_ex(bool, 2)": lambda m, x: m.linalg.solve_ex(x.bool(), 2),
    "lu_unpack(x, 2)": lambda m, x: m.lu_unpack(x, 2),
    "lu_unpack(bool, True)": lambda m, x: m.lu_unpack(x.bool(), True),
    "householder_product(x, 2)": lambda m, x: m.linalg.householder_product(x, 2),
    "orgqr(half, True)": lambda m, x: m.orgqr(x.half(), True),
    "ormqr(x, 2, x)": lambda m, x: m.ormqr(x, 2, x),
    "lu_solve(int, int, 2)": lambda m, x: m.lu_solve(x.long(), x.long(), 2),
    "linalg.lu_solve(x, v, 0.5)": lambda m, x: m.linalg.lu_solve(x, x[0], 0.5),
    "pinv(bool, x, x)": lambda m, x: m.linalg.pinv(x.bool(), x, x),
    "pinv(x, v, 0.5)": lambda m, x: m.linalg.pinv(x, x[0], 0.5),
    "matrix_rank(half)": lambda m, x: m.linalg.matrix_rank(x.half()),
    "matrix_rank(half, half)": lambda m, x: m.linalg.matrix_rank(x.half(), x.half()),
    "matrix_rank(int, int, 2)": lambda m, x: m.linalg.matrix_rank(x.long(), x.long(), 2),
    "matrix_rank(b213, x)": lambda m, x: m.linalg.matrix_rank(_t(m, B213), x),
    "matrix_rank(x, x) broadcast": lambda m, x: m.linalg.matrix_rank(x, x),
    "quantile(x, x, x)": lambda m, x: m.quantile(x, x, x),
    "quantile(int, 0.5, 2.5)": lambda m, x: m.quantile(x.long(), 0.5, 2.5),
    "quantile(x, v, 0.5)": lambda m, x: m.quantile(x, x[0], 0.5),
    "argmax(bool, bool)": lambda m, x: m.argmax(x.bool(), x.bool()),
    "argmin(bool, 1.5)": lambda m, x: m.argmin(x.bool(), 1.5),
    "argmax(x, tensor([1]))": lambda m, x: m.argmax(x, m.tensor([1])),
    "mv(0-d, x)": lambda m, x: m.mv(x[0, 0], x),
    "mv(x, 0-d)": lambda m, x: m.mv(x, x[0, 0]),
    "trace(bool 1-d)": lambda m, x: m.trace(x[0].bool()),
    "cross(uint8, bool, 300)": lambda m, x: m.cross(x.byte(), x.bool(), 300),
    "cross(0-d, 0-d, 0)": lambda m, x: m.cross(x[0, 0], x[0, 0], 0),
    "cumsum(0-d int, 1, dtype=bool)": lambda m, x: m.cumsum(x[0, 0].int(), 1, dtype=m.bool),
    "cumprod(x, 2, dtype=bool)": lambda m, x: m.cumprod(x, 2, dtype=m.bool),
    "trapezoid(bool 0-d)": lambda m, x: m.trapezoid(x[0, 0].bool()),
    "trapezoid(bool empty)": lambda m, x: m.trapezoid(x[0, :0].bool()),
    "trapezoid(bool, bool) empty": lambda m, x: m.trapezoid(x[0, :0].bool(), x[0, :0].bool()),
    "trapezoid(bool)": lambda m, x: m.trapezoid(x.bool()),
    "cumulative_trapezoid(bool 0-d)": lambda m, x: m.cumulative_trapezoid(x[0, 0].bool()),
    "lu(int)": lambda m, x: m.lu(x.int()),
    "linalg.lu(bool)": lambda m, x: m.linalg.lu(x.bool()),
    "linalg.lu_factor(half)": lambda m, x: m.linalg.lu_factor(x.half()),
    "geqrf(uint8)": lambda m, x: m.geqrf(x.byte()),
    "softmax(empty int)": lambda m, x: m.softmax(x[0, :0].int(), 0),
    "log_softmax(empty bool)": lambda m, x: m.log_softmax(x[0, :0].bool(), -1),
    "unique(bool, bool)": lambda m, x: m.unique(x.bool(), x.bool()),
    "unique(x, True, x)": lambda m, x: m.unique(x, True, x),
    "unique_consecutive(x, x)": lambda m, x: m.unique_consecutive(x, x),
    "Tensor.unique_consecutive(x)": lambda m, x: x.unique_consecutive(x),
    "unique_consecutive(x, tensor(True))": lambda m, x: m.unique_consecutive(x, m.tensor(True)),
    "unique_consecutive(empty, dim=0)": lambda m, x: m.unique_consecutive(
        x[0, :0].int(), dim=0, return_inverse=True, return_counts=True),
    "unique(empty, dim=-1)": lambda m, x: m.unique(x[0, :0], dim=-1, return_counts=True),
    "unique((2, 0), dim=0)": lambda m, x: m.unique(x[:, :0], dim=0),
    "unique((2, 0), dim=1)": lambda m, x: m.unique(x[:, :0], dim=1, return_inverse=True),
    "cummax(empty, 3)": lambda m, x: m.cummax(x[0, :0].int(), 3),
    "cummin((0, 2), -3)": lambda m, x: m.cummin(x[:0, :2], -3),
    "cummax(0-d, 3)": lambda m, x: m.cummax(x[0, 0], 3),
    "max(x, other=x)": lambda m, x: m.max(x.bool(), other=x),
    "Tensor.min(other=0-d)": lambda m, x: x.int().min(other=x[0, 0].double()),
    "std(x, dim=True)": lambda m, x: m.std(x, dim=True),
    "var(int, dim=True)": lambda m, x: m.var(x.int(), dim=True),
    "Tensor.var(dim=True)": lambda m, x: x.var(dim=True),
    "std_mean(x, dim=True)": lambda m, x: m.std_mean(x, dim=True),
    "var_mean(x, dim=True)": lambda m, x: m.var_mean(x, dim=True),
    "std(x, True, True)": lambda m, x: m.std(x, True, True),
    "std(x, tensor(True))": lambda m, x: m.std(x, m.tensor(True)),
    "std(x, tensor(False))": lambda m, x: m.std(x, m.tensor(False)),
    "std_mean(x, tensor(True))": lambda m, x: m.std_mean(x, m.tensor(True)),
    "var(x, True)": lambda m, x: m.var(x, True),
    "sum(int, tensor(True))": lambda m, x: m.sum(x.int(), m.tensor(True)),
    "Tensor.sum(tensor(False))": lambda m, x: x.sum(m.tensor(False)),
    "sum(0-d bool, tensor(True))": lambda m, x: m.sum(x[0, 0].bool(), m.tensor(True)),
    "mean(x, tensor(True))": lambda m, x: m.mean(x, m.tensor(True)),
    "nansum(uint8, tensor(True))": lambda m, x: m.nansum(x.byte(), m.tensor(True)),
    "nanmean(x, tensor(True))": lambda m, x: m.nanmean(x, m.tensor(True)),
    "amax(int, tensor(True))": lambda m, x: m.amax(x.int(), m.tensor(True)),
    "amin(x, tensor(False), True)": lambda m, x: m.amin(x, m.tensor(False), True),
    "logsumexp(x, tensor(True))": lambda m, x: m.logsumexp(x, m.tensor(True)),
    "median(bool empty, -1)": lambda m, x: m.median(x[0, :0].bool(), -1),
    "nanmedian(bool empty, 0, True)": lambda m, x: m.nanmedian(x[0, :0].bool(), 0, True),
    "cholesky(empty int)": lambda m, x: m.cholesky(x[0, :0].int()),
    "einsum(tensor)": lambda m, x: m.einsum(x),
    "einsum(x, x)": lambda m, x: m.einsum(x, x),
}


@pytest.mark.parametrize("label", ARGUMENTS)
def test_arguments(label):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (torch.lu's deprecation)
        check(ARGUMENTS[label], Arg(M, False), grad=False, atol=1e-5)


# out=: (label, fn(m, x, out)) and the out dtypes tried; each op's own casting rule.
OUTS = {
    "kron": lambda m, x, out: m.kron(x, x, out=out),
    "tensordot": lambda m, x, out: m.tensordot(x, x.T, out=out),
    "inner": lambda m, x, out: m.inner(x, x, out=out),
    "cross": lambda m, x, out: m.cross(x.T, x.T, dim=0, out=out),
    "chain_matmul(one)": lambda m, x, out: m.chain_matmul(x, out=out),
    "chain_matmul(two)": lambda m, x, out: m.chain_matmul(x, x.T, out=out),
    "diff": lambda m, x, out: m.diff(x, out=out),
    "msort": lambda m, x, out: m.msort(x, out=out),
    "pinv": lambda m, x, out: m.linalg.pinv(x, out=out),
    "matrix_rank": lambda m, x, out: m.linalg.matrix_rank(x, out=out),
    "max": lambda m, x, out: m.max(x, out=out),
    "min(x, y)": lambda m, x, out: m.min(x, x, out=out),
    "mean": lambda m, x, out: m.mean(x, out=out),
    "nanmean": lambda m, x, out: m.nanmean(x, 1, out=out),
    "nansum": lambda m, x, out: m.nansum(x, 1, out=out),
    "std": lambda m, x, out: m.std(x, out=out),
    "var": lambda m, x, out: m.var(x, 0, out=out),
}


@pytest.mark.parametrize("label", OUTS)
@pytest.mark.parametrize("input_dtype", ["float32", "int64", "bool"])
@pytest.mark.parametrize("out_dtype", ["float32", "float64", "float16", "int64", "bool"])
@pytest.mark.parametrize("out_shape", [(2, 3), (0,)])
def test_out(label, input_dtype, out_dtype, out_shape):
    def call(m, x):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (resizing a non-empty out=)
            out = _out(m, out_dtype, out_shape)
            result = OUTS[label](m, x.to(getattr(m, input_dtype)), out)
        assert result is out
        return result

    check(call, Arg(M, False), grad=False, atol=1e-4, rtol=1e-3)


KRON_CASES = [((3, 2), (2, 3), (1, 0), None), ((2, 3), (3, 2), None, (1, 0)),
              ((3, 2), (3, 2), (1, 0), (1, 0)), ((3, 2), (3,), (1, 0), None),
              ((3, 2), (), (1, 0), None), ((3, 2, 1), (2, 3), (1, 0, 2), None),
              ((1, 2, 3), (1, 3, 3), (0, 2, 1), (1, 2, 0)), ((2, 1, 2), (1, 1, 3), (2, 1, 0),
                                                              (2, 1, 0)),
              ((1, 1, 3), (2, 2), (0, 2, 1), (0, 1)), ((2, 2, 2), (1, 2, 1), (2, 1, 0), None),
              ((0, 3), (2, 3), (1, 0), None), ((3, 3), (1, 2), (1, 0), (1, 0))]


@pytest.mark.parametrize("case", range(len(KRON_CASES)))
@pytest.mark.parametrize("dtype", [np.bool_, np.int64, np.float32])
def test_kron_of_permuted_inputs(case, dtype):
    """PyTorch's kron views the product of its interleaved inputs; where a permuted input
    makes that product's layout unviewable it raises (deltagrad models the layout)."""
    sa, sb, pa, pb = KRON_CASES[case]
    a = _typed(RNG.standard_normal(sa), dtype)
    b = _typed(RNG.standard_normal(sb), dtype)

    def kron(m, x, y):
        return m.kron(x if pa is None else x.permute(*pa), y if pb is None else y.permute(*pb))

    check(kron, Arg(a), Arg(b), grad=dtype is np.float32)


def test_kron_layout_model_matches_random_permutations():
    """The layout model against PyTorch on random ranks, sizes (1 included) and permutations."""
    import deltagrad as dg

    rng = np.random.default_rng(3)
    for _ in range(300):
        shapes = [tuple(int(n) for n in rng.integers(1, 4, rng.integers(0, 4)))
                  for _ in range(2)]
        perms = [tuple(int(p) for p in rng.permutation(len(s))) for s in shapes]
        outcomes = []
        for m in (torch, dg):
            args = [_t(m, np.arange(int(np.prod(s))).reshape(s)).permute(p)
                    for s, p in zip(shapes, perms)]
            try:
                outcomes.append(m.kron(*args).numpy().tolist())
            except RuntimeError:
                outcomes.append("raises")
        assert outcomes[0] == outcomes[1], (shapes, perms)
