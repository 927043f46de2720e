"""Differences from PyTorch that libraries' own suites showed in session 25 (LE13,
tests/programs/test_s25_LE13_suites.py), each run in both libraries: values, dtypes, call
orders and exception classes compared."""

from __future__ import annotations

import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _outcome(run):
    """``("ok", dtype name, shape, values)`` or ``("raises", exception class name)``."""
    try:
        r = run()
    except Exception as error:  # noqa: BLE001 - the class is what is compared
        return "raises", type(error).__name__
    return "ok", str(r.dtype).split(".")[-1], tuple(r.shape), r.tolist()


# --------------------------------------------------------------------------------------------
# 1. ctx.saved_for_forward: PyTorch's public attribute that save_for_forward sets (roma's
# procrustes / symmatrix jvp rules read it: AttributeError here).

def _jvp_of_square(L):
    class Square(L.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_forward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):  # (not used: forward mode only)
            raise AssertionError

        @staticmethod
        def jvp(ctx, dx):
            (x,) = ctx.saved_for_forward
            return 2 * x * dx

    fwAD = L.autograd.forward_ad
    x = L.tensor([1.0, -2.0, 3.0], dtype=L.float64)
    with fwAD.dual_level():
        out = Square.apply(fwAD.make_dual(x, L.tensor([1.0, 0.5, -1.0], dtype=L.float64)))
        return fwAD.unpack_dual(out).tangent


def test_saved_for_forward_in_jvp():
    assert _outcome(lambda: _jvp_of_square(dg)) == _outcome(lambda: _jvp_of_square(torch))
    assert _outcome(lambda: _jvp_of_square(dg))[0] == "ok"


# --------------------------------------------------------------------------------------------
# 2. bernoulli(p, out=) with an out of another dtype: PyTorch draws into it (the same draws as
# without out); tltorch's tensor dropout takes a bool mask so. Refused here (dtype mismatch).

@pytest.mark.parametrize("dtype", ["bool", "int64", "float16", "float32", "float64"])
def test_bernoulli_out_of_another_dtype(dtype):
    def run(L):
        L.manual_seed(5)
        p = L.rand(2, 6, dtype=L.float64)
        out = L.empty(4, dtype=getattr(L, dtype))  # (resized to p's shape)
        got = L.bernoulli(p, out=out)
        assert got is out
        return got

    ours, real = _outcome(lambda: run(dg)), _outcome(lambda: run(torch))
    assert ours == real and ours[0] == "ok" and ours[1] == dtype


def test_bernoulli_out_with_grad_raises_as_pytorch():
    def run(L):
        p = L.full((3,), 0.5, requires_grad=True)
        return L.bernoulli(p, out=L.empty(3, dtype=L.bool))

    assert _outcome(lambda: run(dg)) == _outcome(lambda: run(torch)) == ("raises", "RuntimeError")


# --------------------------------------------------------------------------------------------
# 3. Module._forward_hooks / _forward_pre_hooks / _backward_pre_hooks are PyTorch's live
# OrderedDicts: deleting an entry unregisters the hook (tltorch's remove_tensor_lasso and
# remove_tensor_dropout do). Copies here: the hook stayed.

def _hook_script(L):
    m = L.nn.Linear(2, 2)
    calls = []
    first = m.register_forward_hook(lambda mod, i, o: calls.append("a"))
    m.register_forward_hook(lambda mod, i, o: calls.append("b"))
    pre = m.register_forward_pre_hook(lambda mod, i: calls.append("pre"))
    seen = [len(m._forward_hooks), bool(m._forward_hooks), len(m._forward_pre_hooks)]
    for key, _hook in m._forward_hooks.items():  # (tltorch's loop: delete, then stop)
        if key == first.id:
            del m._forward_hooks[key]
            break
    m(L.ones(1, 2))
    seen.append(list(calls))
    m._forward_hooks[first.id] = lambda mod, i, o: calls.append("c")  # (set: registered last)
    del m._forward_pre_hooks[pre.id]
    calls.clear()
    m(L.ones(1, 2))
    seen += [list(calls), len(m._forward_hooks), len(m._forward_pre_hooks)]
    try:
        del m._forward_hooks[-1]
    except KeyError:
        seen.append("KeyError")
    seen += [len(L.nn.ReLU()._forward_hooks), len(L.nn.ReLU()._backward_pre_hooks)]
    return seen


def test_forward_hooks_dict_is_live():
    assert _hook_script(dg) == _hook_script(torch)
    assert _hook_script(dg)[3] == ["pre", "b"]


# --------------------------------------------------------------------------------------------
# 4. PackedSequence keeps the Tensors it is given, the same objects (PyTorch's): poutyne's
# torch_apply tests build one of mocks specced as Tensors. Converted here (a TypeError on the
# mocks; an int32 batch_sizes came back int64).

def _packed_fields(L):
    from unittest.mock import MagicMock

    data = L.arange(6.0).reshape(3, 2)
    sizes, order = L.tensor([2, 1], dtype=L.int32), L.tensor([1, 0])
    packed = L.nn.utils.rnn.PackedSequence(data, sizes, order)
    kept = [packed.data is data, packed.batch_sizes is sizes, packed.sorted_indices is order,
            str(packed.batch_sizes.dtype).split(".")[-1], packed.unsorted_indices.tolist()]
    mocks = MagicMock(spec=L.Tensor), MagicMock(spec=L.Tensor)
    mocks[1].device.type = "cpu"
    mocked = L.nn.utils.rnn.PackedSequence(data=mocks[0], batch_sizes=mocks[1])
    return [*kept, mocked.data is mocks[0], mocked.batch_sizes is mocks[1]]


def test_packed_sequence_keeps_given_tensors():
    expected = [True, True, True, "int32", [1, 0], True, True]
    assert _packed_fields(dg) == _packed_fields(torch) == expected
