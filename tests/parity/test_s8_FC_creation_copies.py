"""Session 8 (FC): creation sizes, the *_copy functions' out=, tril/triu/diag/slice_scatter
out=, nuclear_norm's and histogramdd's argument parsing, against PyTorch (values, dtypes,
shapes, the identity of out=, and the exception class where PyTorch raises)."""

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).parent))
from parity import Arg, check  # noqa: E402
from test_s8_FC_shape_indexing import strict  # noqa: E402

import deltagrad as dg  # noqa: E402

RNG = np.random.default_rng(80)
M = RNG.standard_normal((2, 3)).astype(np.float32)
Q = RNG.standard_normal((3, 3))
S = np.array(-1.5, dtype=np.float32)
B0 = np.array(True)
I0 = np.array(2, dtype=np.int64)

CREATION = [
    ("ones bool tensor size", lambda m, n: m.ones(n), Arg(B0)),
    ("zeros bool tensor size", lambda m, n: m.zeros(n, 2), Arg(B0)),
    ("ones int tensor size", lambda m, n: m.ones(n, 3), Arg(I0)),
    ("eye float tensor", lambda m, n: m.eye(n), Arg(S)),
    ("eye bool tensor", lambda m, n: m.eye(n), Arg(B0)),
    ("eye int tensor", lambda m, n: m.eye(n), Arg(I0)),
    ("eye float m", lambda m: m.eye(2, 2.5)),
    ("eye n, m", lambda m: m.eye(2, 3)),
    ("new_ones bool tensor size", lambda m, x, n: x.new_ones(n), Arg(M), Arg(B0)),
    ("new_zeros bool tensor size", lambda m, x, n: x.new_zeros((n, 2)), Arg(M), Arg(B0)),
    ("new_zeros int tensor size", lambda m, x, n: x.new_zeros(n), Arg(M), Arg(I0)),
]


@pytest.mark.parametrize("name,fn,args", [(c[0], c[1], c[2:]) for c in CREATION],
                         ids=[c[0] for c in CREATION])
def test_creation_sizes(name, fn, args):
    strict(fn, *args)


COPIES = ["alias_copy", "detach_copy", "t_copy", "squeeze_copy", "diagonal_copy",
          "slice_copy", "tril", "triu", "diag"]
OUTS = {"same dtype": np.zeros((2, 3), np.float32), "other dtype": np.zeros((2, 3)),
        "resized": np.zeros(0, np.float32)}


@pytest.mark.parametrize("name", COPIES)
@pytest.mark.parametrize("out", list(OUTS), ids=list(OUTS))
def test_out_of_copies(name, out):
    """out= exactly of the result's dtype (else RuntimeError), resized when empty, and the
    result is out itself."""
    x = M
    expected_error = None
    t_out = torch.tensor(OUTS[out])  # (resizable storage, unlike from_numpy's)
    try:
        expected = getattr(torch, name)(torch.from_numpy(x.copy()), out=t_out)
        assert expected is t_out
    except RuntimeError as error:
        expected_error = error
    d_out = dg.tensor(OUTS[out].copy())
    if expected_error is not None:
        with pytest.raises(RuntimeError):
            getattr(dg, name)(dg.tensor(x.copy()), out=d_out)
        return
    got = getattr(dg, name)(dg.tensor(x.copy()), out=d_out)
    assert got is d_out
    assert got.dtype == dg.float32 and tuple(got.shape) == tuple(expected.shape)
    np.testing.assert_array_equal(got.numpy(), expected.numpy())


def test_out_is_not_a_method_keyword():
    """PyTorch's Tensor.tril takes no out= (the function does)."""
    for lib in (torch, dg):
        with pytest.raises(TypeError):
            lib.ones(2, 2).tril(out=lib.zeros(2, 2))


def test_slice_scatter_out():
    check(lambda m, x, y: m.slice_scatter(x, y, 1, 0, 1, out=m.zeros(2, 3)),
          Arg(M, requires_grad=False), Arg(M[:, :1], requires_grad=False), grad=False)
    check(lambda m, x, y: m.slice_scatter(x, y, 1, 0, 1), Arg(M), Arg(M[:, :1]))


def test_copies_keep_gradients():
    check(lambda m, x: m.permute_copy(x, (1, 0)) * 3, Arg(M))
    check(lambda m, x: m.tril(x, 1), Arg(Q))


NUCLEAR = [
    ("default", lambda m, x: m.nuclear_norm(x), Arg(Q)),
    ("keepdim positional bool", lambda m, x: m.nuclear_norm(x, True), Arg(Q)),
    ("keepdim keyword", lambda m, x: m.nuclear_norm(x, keepdim=True), Arg(Q)),
    ("dim=True keyword", lambda m, x: m.nuclear_norm(x, dim=True), Arg(Q)),
    ("dims and keepdim", lambda m, x: m.nuclear_norm(x, (0, 1), True), Arg(Q)),
    ("dim list", lambda m, x: m.nuclear_norm(x, [1, 0]), Arg(Q)),
    ("one int dim", lambda m, x: m.nuclear_norm(x, 1), Arg(Q)),
    ("one int dim out of range", lambda m, x: m.nuclear_norm(x, 2), Arg(Q)),
    ("0-d int tensor dim", lambda m, x, d: m.nuclear_norm(x, d), Arg(Q), Arg(I0)),
    ("bool tensor dim", lambda m, x, d: m.nuclear_norm(x, d), Arg(Q), Arg(Q > 0)),
    ("float dim", lambda m, x: m.nuclear_norm(x, 2.5), Arg(Q)),
    ("float in dims", lambda m, x: m.nuclear_norm(x, (0, 1.0)), Arg(Q)),
    ("three dims", lambda m, x: m.nuclear_norm(x, (0, 1, 2)), Arg(Q)),
    ("keepdim=1", lambda m, x: m.nuclear_norm(x, (0, 1), keepdim=1), Arg(Q)),
    ("bool input", lambda m, x: m.nuclear_norm(x), Arg(Q > 0)),
    ("0-d input, 0-d dim", lambda m, x, d: m.nuclear_norm(x, d), Arg(B0), Arg(B0)),
    ("out", lambda m, x: m.nuclear_norm(x, out=m.zeros(())), Arg(Q)),
]


@pytest.mark.parametrize("name,fn,args", [(c[0], c[1], c[2:]) for c in NUCLEAR],
                         ids=[c[0] for c in NUCLEAR])
def test_nuclear_norm(name, fn, args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        strict(fn, *args)


HISTOGRAMDD = [
    ("int bins", lambda m, x: m.histogramdd(x, 2), Arg(M)),
    ("list of ints", lambda m, x: m.histogramdd(x, [2, 1, 3]), Arg(M)),
    ("0-d int tensor bins", lambda m, x, b: m.histogramdd(x, b), Arg(M), Arg(I0)),
    ("2-d tensor bins", lambda m, x: m.histogramdd(x, x), Arg(M)),
    ("float bins", lambda m, x: m.histogramdd(x, 2.5), Arg(M)),
    ("bool bins", lambda m, x: m.histogramdd(x, True), Arg(M)),
    ("int input", lambda m, x: m.histogramdd(x, 2), Arg(M.astype(np.int32))),
    ("int input, tensor bins", lambda m, x: m.histogramdd(x, x), Arg(M.astype(np.int32))),
    ("0-d input", lambda m, x: m.histogramdd(x, 2), Arg(S)),
    ("1-d input", lambda m, x: m.histogramdd(x, 2), Arg(M[0])),
    ("mixed list", lambda m, x: m.histogramdd(x, [2, 2.5, 2]), Arg(M)),
]


@pytest.mark.parametrize("name,fn,args", [(c[0], c[1], c[2:]) for c in HISTOGRAMDD],
                         ids=[c[0] for c in HISTOGRAMDD])
def test_histogramdd_arguments(name, fn, args):
    strict(fn, *args)


def test_segment_reduce_reduce_must_be_a_string():
    check(lambda m, x, n: m.segment_reduce(x, "sum", lengths=n), Arg(M),
          Arg(np.array([1, 1])), grad=False)
    strict(lambda m, x: m.segment_reduce(x, 1, lengths=m.tensor([2])), Arg(M))
