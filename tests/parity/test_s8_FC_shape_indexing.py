"""Session 8 (FC): shape, indexing, creation, in-place and copy functions against PyTorch: the
cases the generated fuzzer (fuzz_s6.py) found silently accepted, refused, or raising another
exception class than PyTorch's (a test suite's ``pytest.raises(TypeError)`` must catch ours)."""

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).parent))
from parity import Arg, check  # noqa: E402

import deltagrad as dg  # noqa: E402

RNG = np.random.default_rng(8)
M = RNG.standard_normal((2, 3)).astype(np.float32)
V = RNG.standard_normal(3).astype(np.float32)
S = np.array(1.5, dtype=np.float32)  # 0-d
I0 = np.array(1, dtype=np.int64)  # a 0-d integer tensor
B0 = np.array(True)  # a 0-d bool tensor
IM = np.array([[0, 1, 0], [1, 0, 1]], dtype=np.int64)
E32 = np.zeros(0, dtype=np.int32)


def strict(fn, *args, grad=False, **kwargs):
    """``check``, and where PyTorch raises, ours must be its class or a subclass (check lets
    any RuntimeError pass for any RuntimeError)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        targs = [torch.from_numpy(a.array.copy()) if isinstance(a, Arg) else a for a in args]
        dargs = [dg.tensor(a.array.copy()) if isinstance(a, Arg) else a for a in args]
        try:
            if fn(torch, *targs, **kwargs) is NotImplemented:  # (an operator dunder's refusal:
                raise TypeError("NotImplemented")  # the TypeError the operator raises)
        except Exception as expected:  # noqa: BLE001 - PyTorch's error is the spec
            with pytest.raises(type(expected)):
                fn(dg, *dargs, **kwargs)
            return
        check(fn, *args, grad=grad, **kwargs)


# Sizes: Tensor.reshape/view/permute/expand/broadcast_to need them (even on a 0-d tensor);
# the functions torch.reshape/permute/broadcast_to take one tuple or list, never an int.
SIZES = [
    ("method reshape()", lambda m, x: x.reshape(), Arg(S)),
    ("method view()", lambda m, x: x.view(), Arg(S)),
    ("method permute()", lambda m, x: x.permute(), Arg(S)),
    ("method expand()", lambda m, x: x.expand(), Arg(S)),
    ("method broadcast_to()", lambda m, x: x.broadcast_to(), Arg(S)),
    ("method reshape(True)", lambda m, x: x.reshape(True), Arg(M)),
    ("method view(True)", lambda m, x: x.view(True), Arg(M)),
    ("method permute(True)", lambda m, x: x.permute(True), Arg(M)),
    ("method expand(True)", lambda m, x: x.expand(True), Arg(M)),
    ("method reshape(2, True, 3)", lambda m, x: x.reshape(2, True, 3), Arg(M)),
    ("method reshape ints", lambda m, x: x.reshape(3, 2), Arg(M)),
    ("method reshape tuple", lambda m, x: x.reshape((3, -1)), Arg(M)),
    ("method reshape 0-d tensor", lambda m, x, n: x.reshape(n), Arg(S), Arg(I0)),
    ("method view list", lambda m, x: x.view([6]), Arg(M)),
    ("method permute ints", lambda m, x: x.permute(1, 0), Arg(M)),
    ("method permute 0-d ()", lambda m, x: x.permute(()), Arg(S)),
    ("method broadcast_to ints", lambda m, x: x.broadcast_to(2, 2, 3), Arg(M)),
    ("torch.reshape int", lambda m, x: m.reshape(x, 6), Arg(M)),
    ("torch.reshape bool", lambda m, x: m.reshape(x, True), Arg(M)),
    ("torch.reshape tensor", lambda m, x, n: m.reshape(x, n), Arg(S), Arg(I0)),
    ("torch.reshape two sizes", lambda m, x: m.reshape(x, 3, 2), Arg(M)),
    ("torch.reshape no size", lambda m, x: m.reshape(x), Arg(S)),
    ("torch.reshape tuple", lambda m, x: m.reshape(x, (3, 2)), Arg(M)),
    ("torch.reshape list", lambda m, x: m.reshape(x, [-1]), Arg(M)),
    ("torch.reshape keyword", lambda m, x: m.reshape(x, shape=(6,)), Arg(M)),
    ("torch.reshape 0-d ()", lambda m, x: m.reshape(x, ()), Arg(S)),
    ("torch.permute int", lambda m, x: m.permute(x, 0), Arg(V)),
    ("torch.permute tensor", lambda m, x, n: m.permute(x, n), Arg(S), Arg(I0)),
    ("torch.permute no dims", lambda m, x: m.permute(x), Arg(S)),
    ("torch.permute list", lambda m, x: m.permute(x, [1, 0]), Arg(M)),
    ("torch.permute negative", lambda m, x: m.permute(x, (-1, 0)), Arg(M)),
    ("torch.broadcast_to int", lambda m, x: m.broadcast_to(x, 3), Arg(V)),
    ("torch.broadcast_to tensor", lambda m, x, n: m.broadcast_to(x, n), Arg(S), Arg(I0)),
    ("torch.broadcast_to tuple", lambda m, x: m.broadcast_to(x, (2, 3)), Arg(V)),
    ("torch.broadcast_to -1", lambda m, x: m.broadcast_to(x, (4, -1, 3)), Arg(M[:1])),
    ("T of 0-d", lambda m, x: x.T, Arg(S)),
    ("T of 1-d", lambda m, x: x.T, Arg(V)),
    ("movedim 0-d", lambda m, x: m.movedim(x, (), ()), Arg(S)),
    ("permute_copy int", lambda m, x: m.permute_copy(x, 0), Arg(V)),
    ("permute_copy tuple", lambda m, x: m.permute_copy(x, (1, 0)), Arg(M)),
    ("expand_copy tensor", lambda m, x, y: m.expand_copy(x, y), Arg(M), Arg(V)),
    ("view_copy bool", lambda m, x: m.view_copy(x, True), Arg(M)),
    ("view_copy tuple", lambda m, x: m.view_copy(x, (3, 2)), Arg(M)),
]


@pytest.mark.parametrize("name,fn,args", [(c[0], c[1], c[2:]) for c in SIZES],
                         ids=[c[0] for c in SIZES])
def test_sizes_arguments(name, fn, args):
    strict(fn, *args)


def test_sizes_gradients():
    check(lambda m, x: m.reshape(x.T, (3, 2)) * 2, Arg(M))
    check(lambda m, x: m.permute(x, [1, 0]).sum(0), Arg(M))
    check(lambda m, x: m.broadcast_to(x, [2, 3]), Arg(V))


def test_internal_callers_pass_tuples():
    """func.jacobian of a 0-d output and input, linalg.tensorsolve of a 0-d result: both
    spread a 0-d shape into reshape(*shape) before."""
    x = dg.tensor(2.0)
    jac = dg.func.jacrev(lambda t: t * t)(x)
    assert jac.shape == () and float(jac) == 4.0
    check(lambda m, a, b: m.linalg.tensorsolve(a, b), Arg(np.array([[2.0]])),
          Arg(np.array([3.0])), grad=False)


# In-place operators: __ipow__'s argument is `exponent`, __iadd__ / __isub__ take alpha=.
INPLACE = [
    ("__ipow__ other=", lambda m, x: x.__ipow__(other=2), Arg(M)),
    ("__ipow__", lambda m, x: x.__ipow__(2), Arg(M)),
    ("__iadd__ alpha", lambda m, x, y: x.__iadd__(y, alpha=2), Arg(M), Arg(M)),
    ("__isub__ alpha", lambda m, x, y: x.__isub__(y, alpha=-1), Arg(IM), Arg(IM)),
    ("__iadd__ float alpha int", lambda m, x, y: x.__iadd__(y, alpha=2.5), Arg(IM), Arg(IM)),
    ("__isub__ bool alpha", lambda m, x, y: x.__isub__(y, alpha=2), Arg(B0), Arg(B0)),
    ("copy_ other=", lambda m, x, y: x.copy_(other=y), Arg(M), Arg(V)),
    ("copy_ src=", lambda m, x, y: x.copy_(src=y), Arg(M), Arg(V)),
    ("cumsum_ bool", lambda m, x: x.cumsum_(0), Arg(M > 0)),
    ("cumsum_ bool 0-d", lambda m, x: x.cumsum_(-1), Arg(B0)),
    ("cumprod_ bool empty", lambda m, x: x.cumprod_(0), Arg(np.zeros(0, bool))),
    ("cumsum_ int32", lambda m, x: x.cumsum_(1), Arg(IM.astype(np.int32))),
    ("cumsum_ bool bad dim", lambda m, x: x.cumsum_(3), Arg(B0)),
]


@pytest.mark.parametrize("name,fn,args", [(c[0], c[1], c[2:]) for c in INPLACE],
                         ids=[c[0] for c in INPLACE])
def test_inplace_forms(name, fn, args):
    strict(fn, *args)


def test_ipow_operator_still_works():
    x = dg.tensor([1.0, 2.0])
    y = x
    y **= 2
    assert y is x and x.tolist() == [1.0, 4.0]


# Splits, unbind, stride: the dim or the sizes of the wrong type are PyTorch's TypeError.
SPLITS = [
    ("split by 2-d tensor", lambda m, x, s: m.split(x, s), Arg(S), Arg(M > 0)),
    ("split by 0-d tensor", lambda m, x, s: m.split(x, s), Arg(M), Arg(I0)),
    ("split by float", lambda m, x: m.split(x, 2.5), Arg(M)),
    ("split bad dim", lambda m, x: m.split(x, 1, 2), Arg(M)),
    ("split 0-d", lambda m, x: m.split(x, 1), Arg(S)),
    ("split sizes", lambda m, x: m.split(x, [1, 2], 1), Arg(M)),
    ("unbind tensor dim", lambda m, x, d: m.unbind(x, d), Arg(S), Arg(M)),
    ("unbind 0-d tensor dim", lambda m, x, d: m.unbind(x, d), Arg(M), Arg(I0)),
    ("unbind float dim", lambda m, x: m.unbind(x, 1.0), Arg(M)),
    ("unbind_copy tensor dim", lambda m, x, d: m.unbind_copy(x, d), Arg(S), Arg(M)),
    ("stride tensor dim", lambda m, x, d: x.stride(d), Arg(M), Arg(M > 0)),
    ("stride 0-d tensor dim", lambda m, x, d: x.stride(d), Arg(M), Arg(I0)),
    ("tensor_split 2-d indices", lambda m, x, i: m.tensor_split(x, i, 5), Arg(M), Arg(IM)),
    ("tensor_split tensor dim", lambda m, x, i, d: m.tensor_split(x, i, d),
     Arg(M), Arg(np.array([1])), Arg(M)),
    ("tensor_split indices", lambda m, x, i: m.tensor_split(x, i, 1), Arg(M), Arg(np.array([1]))),
]


@pytest.mark.parametrize("name,fn,args", [(c[0], c[1], c[2:]) for c in SPLITS],
                         ids=[c[0] for c in SPLITS])
def test_split_arguments(name, fn, args):
    strict(fn, *args)


# Arguments that must be tensors (or ints): PyTorch's parser raises TypeError first.
TYPES = [
    ("is_same_size bool", lambda m, x: m.is_same_size(x, True), Arg(M)),
    ("Tensor.is_same_size", lambda m, x, y: x.is_same_size(y), Arg(M), Arg(M)),
    ("type_as number", lambda m, x: x.type_as(2), Arg(M)),
    ("type_as", lambda m, x, y: x.type_as(y), Arg(M), Arg(IM)),
    ("cartesian_prod bool", lambda m, x: m.cartesian_prod(x, True), Arg(V)),
    ("cartesian_prod 2-d", lambda m, x: m.cartesian_prod(x), Arg(M)),
    ("cartesian_prod", lambda m, x, y: m.cartesian_prod(x, y), Arg(V), Arg(V[:2])),
    ("segment_reduce tensor reduce", lambda m, x: m.segment_reduce(x, x), Arg(M)),
    ("gather float dim", lambda m, x, i: m.gather(x, 1.0, i), Arg(M), Arg(IM)),
    ("gather tensor dim", lambda m, x, d, i: m.gather(x, d, i), Arg(M), Arg(M), Arg(IM)),
    ("gather int32 index", lambda m, x, i: m.gather(x, 1, i), Arg(M), Arg(IM.astype(np.int32))),
    ("take_along_dim float dim", lambda m, x, i: m.take_along_dim(x, i, 0.5), Arg(M), Arg(IM)),
    ("take_along_dim int32 flat", lambda m, x, i: m.take_along_dim(x, i), Arg(M),
     Arg(np.array(1, np.int32))),
    ("take_along_dim uint8 flat", lambda m, x, i: m.take_along_dim(x, i), Arg(M),
     Arg(IM.astype(np.uint8))),
    ("take_along_dim int32 along dim", lambda m, x, i: m.take_along_dim(x, i, 1), Arg(M),
     Arg(IM.astype(np.int32))),
    ("take_along_dim empty bool flat", lambda m, x, i: m.take_along_dim(x, i), Arg(M),
     Arg(np.zeros(0, bool))),
    ("take_along_dim transposed flat", lambda m, x, i: m.take_along_dim(x.T, i), Arg(M),
     Arg(IM)),
    ("put number source", lambda m, x, i: m.put(x, i, 2), Arg(IM), Arg(IM)),
    ("put float index", lambda m, x, i: m.put(x, i, 0.5), Arg(M), Arg(V)),
    ("masked_scatter number", lambda m, x, k: m.masked_scatter(x, k, 0.5), Arg(M), Arg(V)),
    ("masked_scatter_ number", lambda m, x, k: x.masked_scatter_(k, 0.5), Arg(M), Arg(V)),
    ("masked_select 0-d", lambda m, x, k: m.masked_select(x, k), Arg(B0), Arg(B0)),
    ("masked_select 0-d false", lambda m, x, k: m.masked_select(x, k), Arg(S),
     Arg(np.array(False))),
    ("slice_scatter number src", lambda m, x: m.slice_scatter(x, 2.5), Arg(S)),
    ("slice_scatter bool dim", lambda m, x, y: m.slice_scatter(x, y, True), Arg(M), Arg(M)),
    ("slice_copy tensor dim", lambda m, x, d: m.slice_copy(x, d), Arg(S), Arg(M)),
    ("diagonal_scatter number src", lambda m, x: m.diagonal_scatter(x, 2.5), Arg(S)),
    ("diagonal_scatter float offset", lambda m, x, y: m.diagonal_scatter(x, y, 0.5),
     Arg(M), Arg(V[:2])),
    ("select_scatter number src", lambda m, x: m.select_scatter(x, 2.5, 0, 0), Arg(M)),
    ("diag_embed 0-d", lambda m, x: m.diag_embed(x), Arg(S)),
    ("adjoint 0-d", lambda m, x: m.adjoint(x), Arg(S)),
    ("adjoint 1-d", lambda m, x: m.adjoint(x), Arg(V)),
]


@pytest.mark.parametrize("name,fn,args", [(c[0], c[1], c[2:]) for c in TYPES],
                         ids=[c[0] for c in TYPES])
def test_argument_types(name, fn, args):
    strict(fn, *args)


def test_adjoint_of_a_scalar_is_the_tensor_itself():
    x = dg.tensor(2.0)
    with pytest.warns(UserWarning):
        assert dg.adjoint(x) is x


# repeat_interleave: the method needs repeats; repeats an int or a tensor; dim an int.
REPEATS = [
    ("method no repeats", lambda m, x: x.repeat_interleave(), Arg(E32)),
    ("method no repeats 0-d", lambda m, x: x.repeat_interleave(), Arg(B0)),
    ("function counts", lambda m, x: m.repeat_interleave(x), Arg(np.array([1, 0, 2]))),
    ("function counts negative", lambda m, x: m.repeat_interleave(x), Arg(np.array([1, -1]))),
    ("function counts 2-d", lambda m, x: m.repeat_interleave(x), Arg(IM)),
    ("function counts float", lambda m, x: m.repeat_interleave(x), Arg(V)),
    ("bool repeats", lambda m, x: m.repeat_interleave(x, True), Arg(M)),
    ("float repeats", lambda m, x: m.repeat_interleave(x, 2.5), Arg(M)),
    ("negative repeats", lambda m, x: m.repeat_interleave(x, -1), Arg(M)),
    ("2-d repeats, bad dim", lambda m, x, r: m.repeat_interleave(x, r, 2), Arg(IM), Arg(IM)),
    ("tensor dim", lambda m, x, d: m.repeat_interleave(x, 2, d), Arg(M), Arg(M)),
    ("float dim", lambda m, x: m.repeat_interleave(x, 2, 0.5), Arg(M)),
    ("empty by empty", lambda m, x, r: m.repeat_interleave(x, r), Arg(E32), Arg(E32)),
    ("int along dim", lambda m, x: m.repeat_interleave(x, 2, 1), Arg(M)),
    ("tensor along dim", lambda m, x, r: m.repeat_interleave(x, r, 1), Arg(M),
     Arg(np.array([1, 0, 2]))),
    ("method int", lambda m, x: x.repeat_interleave(3), Arg(V)),
]


@pytest.mark.parametrize("name,fn,args", [(c[0], c[1], c[2:]) for c in REPEATS],
                         ids=[c[0] for c in REPEATS])
def test_repeat_interleave(name, fn, args):
    strict(fn, *args)


def test_repeat_interleave_gradient():
    check(lambda m, x: m.repeat_interleave(x, 2, 0), Arg(M))


def test_missing_sizes_raise_after_cached_calls():
    """The methods cache parsed sizes: an empty tuple seen first must not let a call with no
    sizes through."""
    x = dg.tensor(1.0)
    x.expand(()), x.permute(()), x.reshape(())
    for method in (x.expand, x.permute, x.reshape, x.view, x.broadcast_to):
        with pytest.raises(TypeError):
            method()
