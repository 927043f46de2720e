"""Differences the session-19 fuzzer families (``s19_SL4_families.py``) found, fixed: each test
runs the same code on deltagrad and PyTorch and compares values, dtypes, shapes and
gradients."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402


def _same(ref, got):
    assert str(got.dtype).rsplit(".", 1)[-1] == str(ref.dtype).rsplit(".", 1)[-1]
    assert tuple(got.shape) == tuple(ref.shape)
    np.testing.assert_array_equal(got.detach().numpy(), ref.detach().numpy())


def _both(fn):
    return fn(torch), fn(dg)


# -- a 0-d bool index beside integers: PyTorch's dimension placement ---------------------------

@pytest.mark.parametrize("index", [
    lambda lib: (0, slice(None, None, 1), False, 0),            # (3, 0), NumPy's (0, 3)
    lambda lib: (1, True, slice(None), lib.tensor([1, 2])),     # (2, 3)
    lambda lib: (0, lib.tensor(True), 1),
    lambda lib: (1, slice(None), True, 3),
    lambda lib: (lib.tensor([1]), lib.tensor(True), 2),
])
def test_bool_scalar_index_beside_integers(index):
    def get(lib):
        x = lib.arange(24.0, dtype=lib.float64).reshape(2, 3, 4).requires_grad_()
        y = x[index(lib)]
        (y * lib.arange(float(y.numel()), dtype=lib.float64).reshape(y.shape)).sum().backward()
        return y, x.grad
    (ry, rg), (gy, gg) = _both(get)
    _same(ry, gy)
    _same(rg, gg)


def test_setitem_with_a_bool_scalar_and_an_integer():
    # deltagrad counted the bool as an indexed dimension: IndexError (too many indices).
    def put(lib):
        a = lib.tensor([[1.0, -1.0, 0.0]])
        a[0, lib.tensor(True), lib.tensor([-2, 1, 0], dtype=lib.int32)] = 4
        w = lib.zeros(2, 3)
        w[1, True, [0, 2]] = lib.tensor([5.0, 6.0])
        return a, w
    for ref, got in zip(*_both(put)):
        _same(ref, got)


# -- an Ellipsis that stands for no dimension does not part index arrays ---------------------

@pytest.mark.parametrize("index", [
    lambda lib: (slice(1, None, 3), lib.tensor(True), Ellipsis, lib.tensor([0, 0])),
    lambda lib: (slice(None), lib.tensor([0, 1]), Ellipsis, lib.tensor([1, 2])),
    lambda lib: (None, lib.tensor([0, 1, 1]), Ellipsis, lib.tensor([2, 0, 1])),
])
def test_empty_ellipsis_between_index_arrays(index):
    def get(lib):
        x = lib.arange(18.0).reshape(2, 3, 3).requires_grad_()
        idx = index(lib)
        y = x[idx]
        y.sum().backward()
        z = lib.zeros(2, 3, 3)
        z[idx] = 7.0
        return y, x.grad, z
    for ref, got in zip(*_both(get)):
        _same(ref, got)


def test_empty_ellipsis_of_a_two_dim_tensor():
    # The fuzzer's program: `a0[1::3, torch.tensor(True), ..., torch.tensor([0, 0])]`.
    def get(lib):
        return lib.tensor([[False], [False]])[1::3, lib.tensor(True), ...,
                                              lib.tensor([0, 0], dtype=lib.int32)]
    _same(*_both(get))


# -- backward(inputs=[non-leaf]) retains its grad ---------------------------------------------

def test_backward_inputs_non_leaf_retains_grad():
    def run(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x * 2
        (y * 3).sum().backward(inputs=[y], retain_graph=True)
        first = y.grad.clone()
        retains = y.retains_grad
        (y * y).sum().backward()  # accumulates into y.grad too, as after retain_grad()
        return first, retains, y.grad, x.grad
    (r1, rr, ry, rx), (g1, gr, gy, gx) = _both(run)
    _same(r1, g1)
    assert rr is gr is True
    _same(ry, gy)
    _same(rx, gx)


def test_backward_inputs_retained_non_leaf_accumulates_once():
    def run(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x * 2
        y.retain_grad()
        (y * 5).sum().backward(inputs=[y, x])
        return y.grad, x.grad
    for ref, got in zip(*_both(run)):
        _same(ref, got)


# -- a Python int beyond a 0-d integer tensor's range ------------------------------------------

@pytest.mark.parametrize("expr", [
    "a % -2", "a ^ -2", "-2 ^ a", "a + 300", "300 + a", "a * -1", "a // -1", "a - 300",
    "a | -1", "lib.add(a, -1)", "lib.remainder(a, -3)", "lib.fmod(a, -3)",
    "lib.div(a, -3, rounding_mode='floor')", "lib.bitwise_xor(a, -2)", "a / -300",
    "a < -1", "a == 257", "a.to(lib.int8) * 200",
])
def test_out_of_range_number_with_a_zero_dim_integer_tensor(expr):
    # deltagrad's int64 for the number outranked the 0-d tensor: int64 results (a % -2 was
    # int64 0 where PyTorch's uint8 is 1).
    def run(lib):
        a = lib.tensor([1, 2], dtype=lib.uint8)[0]
        return eval(expr, {"a": a, "lib": lib})
    _same(*_both(run))


# -- setitem with a 0-d bool index: PyTorch's index_put_ (dtypes must match) ------------------

@pytest.mark.parametrize("stmt", [
    "x[True] = lib.tensor(1.5, dtype=lib.float64)",          # (a lone Python True casts)
    "x[lib.tensor(True)] = lib.tensor(1.5, dtype=lib.float64)",
    "x[True, 0] = lib.tensor(1.5, dtype=lib.float64)",
    "x[0, True] = lib.tensor([1.5, 2.0, 3.0], dtype=lib.float64)",
    "x[lib.tensor(False), 1] = lib.tensor(0.5, dtype=lib.float64)",
    "x[..., True] = lib.tensor(2)",
    "x[:, None, True] = lib.tensor(2.5, dtype=lib.float64)",
    "x[lib.tensor(True), 0:1] = lib.tensor([[[3.0, 4.0, 5.0]]], dtype=lib.float64)",
    "x[True, 1] = 2.5",
    "x[lib.tensor([True, False])] = lib.tensor(2.5, dtype=lib.float64)",  # (masked_fill_)
    "x[True, -1, lib.tensor([True, False, False]), None] = lib.tensor(2.0, dtype=lib.float64)",
    "x[-1, lib.tensor([True, False, False])] = lib.tensor(2.0, dtype=lib.float64)",
    "x[False, lib.tensor([True, False])] = lib.tensor(2.0, dtype=lib.float64)",
])
def test_setitem_bool_scalar_value_dtype(stmt):
    # deltagrad cast the value where PyTorch raises (four of these wrote silently).
    out = []
    for lib in (torch, dg):
        x = lib.zeros(2, 3)
        try:
            exec(stmt, {"x": x, "lib": lib})
            out.append(x.tolist())
        except RuntimeError:
            out.append("RuntimeError")
    assert out[1] == out[0]


def test_integer_pow_of_shapes_that_do_not_broadcast():
    for lib in (torch, dg):
        with pytest.raises(RuntimeError):
            lib.tensor([[7, -1], [0, 2], [-1, -2]], dtype=lib.int16) ** lib.tensor([2, -1, 0])


# -- accumulating writes keep -0.0 where nothing is added ------------------------------------

_ACCUMULATE = {
    "scatter_add": lambda lib, x, s: x.scatter_add(0, lib.tensor([[1]]), s[:1, :1]),
    "scatter_add_zero_src": lambda lib, x, s: x.scatter_add(0, lib.tensor([[1, 0]]),
                                                            s[:1] * 0),
    "scatter_add_": lambda lib, x, s: x.clone().scatter_add_(0, lib.tensor([[1, 1], [0, 1]]), s),
    "index_add": lambda lib, x, s: x.index_add(0, lib.tensor([1]), s[:1]),
    "index_add_alpha": lambda lib, x, s: x.index_add(0, lib.tensor([1, 0]), -s, alpha=2),
    "index_add_": lambda lib, x, s: x.clone().index_add_(1, lib.tensor([1, 1]), s, alpha=3),
    "index_put": lambda lib, x, s: x.index_put((lib.tensor([1]),), s[0, 0], accumulate=True),
    "index_put_": lambda lib, x, s: x.clone().index_put_((lib.tensor([0, 0]),), -s[0] * 0,
                                                         accumulate=True),
    "put_": lambda lib, x, s: x.clone().put_(lib.tensor([3, 3]), s[0], accumulate=True),
}


@pytest.mark.parametrize("name", list(_ACCUMULATE))
def test_accumulating_writes_keep_negative_zero(name):
    # deltagrad added a scattered tensor of zeros: -0.0 + 0.0 made untouched -0.0s +0.0 (seen
    # through a later division: 3.0 // x gave inf where PyTorch's is -inf).
    def run(lib):
        x = lib.tensor([[-0.0, -0.0], [-0.0, 1.0]], dtype=lib.float64)
        w = lib.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=lib.float64, requires_grad=True)
        s = lib.tensor([[0.25, 1.0], [2.0, 3.0]], dtype=lib.float64, requires_grad=True)
        out = _ACCUMULATE[name](lib, x, s)
        (out * w).sum().backward()
        return out, lib.signbit(out), s.grad
    for ref, got in zip(*_both(run)):
        _same(ref, got)


@pytest.mark.parametrize("value", [-4, -255, -256, 256, -0.5, 1.5, True, 2**70, float("nan")])
@pytest.mark.parametrize("dtype", ["uint8", "int8", "float32", "bool"])
def test_index_fill_number_checked_as_fill(value, dtype):
    # deltagrad's NumPy cast raised OverflowError for uint8's -4 (PyTorch's 252) and took
    # values PyTorch refuses.
    out = []
    for lib in (torch, dg):
        a = lib.tensor([[1, 0], [1, 2]], dtype=getattr(lib, dtype))
        try:
            out.append(repr(a.index_fill(0, lib.tensor([1]), value).tolist()))
        except (RuntimeError, OverflowError) as error:
            out.append(type(error).__name__)
    assert out[1] == out[0]


@pytest.mark.parametrize("value", [-1.5, -0.75, 1.5, 255.5, 256.0, -255.0, float("nan"), -1])
@pytest.mark.parametrize("where", ["slice", "tensor", "int"])
@pytest.mark.parametrize("dtype", ["uint8", "int8"])
def test_setitem_float_number_into_integers_checked_as_fill(value, where, dtype):
    # deltagrad wrote -0.75 into uint8 (PyTorch raises) and raised OverflowError for -1.5
    # where PyTorch's is a RuntimeError.
    out = []
    for lib in (torch, dg):
        a = lib.tensor([4, 0, 7], dtype=getattr(lib, dtype))
        index = {"slice": slice(0, None), "tensor": (lib.tensor([2]),), "int": 0}[where]
        try:
            a[index] = value
            out.append(a.tolist())
        except (RuntimeError, OverflowError) as error:
            out.append(type(error).__name__)
    assert out[1] == out[0]


def test_index_put_checks_values_and_indices_first():
    for lib in (torch, dg):
        with pytest.raises(TypeError):  # (deltagrad: RuntimeError)
            lib.zeros(3, 2).index_put_((lib.tensor([0]),), False)
        with pytest.raises(IndexError):  # (deltagrad: the dtype's RuntimeError first)
            lib.zeros(3, 2).index_put_((lib.tensor([0, 1, 2]), lib.tensor([0, 1])),
                                       lib.tensor(1.5, dtype=lib.float16))


@pytest.mark.parametrize("value", [-4, -256, 256, -0.5, 2**70])
@pytest.mark.parametrize("reduce", [None, "add", "multiply"])
@pytest.mark.parametrize("dtype", ["uint8", "int8", "float32"])
def test_scatter_number_checked_as_fill(value, reduce, dtype):
    # The fuzzer's `a8.scatter_(0, torch.tensor([2, 2, 2]), -4)` on uint8: deltagrad's NumPy
    # cast raised OverflowError where PyTorch writes 252.
    out = []
    for lib in (torch, dg):
        a = lib.tensor([[1, 0], [1, 2]], dtype=getattr(lib, dtype))
        extra = {} if reduce is None else {"reduce": reduce}
        try:
            out.append(repr(a.scatter(0, lib.tensor([[1, 0]]), value, **extra).tolist()))
        except (RuntimeError, OverflowError) as error:
            out.append(type(error).__name__)
    assert out[1] == out[0]
