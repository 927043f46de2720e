"""Tensor attributes and conveniences (stride, is_contiguous, nbytes, new_*, type_as,
sum_to_size, ``in``, ...) and the extra creation functions (logspace, windows, asarray,
frombuffer, scalar_tensor) against PyTorch."""

# ruff: noqa: B023 - check() calls each lambda at once, inside the loop that defines it

import array

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

import deltagrad as dg  # noqa: E402

RNG = np.random.default_rng(11)

VIEWS = [
    ("contiguous", lambda m, x: x),
    ("transposed", lambda m, x: x.transpose(0, 1)),
    ("sliced with a step", lambda m, x: x[:, ::2]),
    ("narrowed rows", lambda m, x: x[1:]),
    ("expanded", lambda m, x: x[:1].expand(4, 6)),
    ("one row", lambda m, x: x[2]),
    ("0-d", lambda m, x: x[1, 2]),
]


@pytest.mark.parametrize("name,view", VIEWS, ids=[n for n, _ in VIEWS])
def test_layout_questions(name, view):
    data = RNG.standard_normal((4, 6)).astype(np.float32)
    ours, theirs = view(dg, dg.tensor(data)), view(torch, torch.tensor(data))
    assert ours.stride() == theirs.stride()
    for d in range(-ours.ndim, ours.ndim):
        assert ours.stride(d) == theirs.stride(d)
    assert ours.is_contiguous() == theirs.is_contiguous()
    assert ours.storage_offset() == theirs.storage_offset()
    assert (ours.nbytes, ours.itemsize) == (theirs.nbytes, theirs.itemsize)
    assert (ours.ndimension(), ours.nelement()) == (theirs.ndimension(), theirs.nelement())
    assert ours.get_device() == theirs.get_device() == -1


def test_data_ptr_is_shared_by_views():
    x = dg.zeros(3, 4)
    assert x.data_ptr() == x[0].data_ptr() == x.detach().data_ptr()
    assert x[1].data_ptr() == x.data_ptr() + 4 * x.itemsize
    assert x.clone().data_ptr() != x.data_ptr()


def test_stride_of_a_bad_dim_raises():
    check(lambda m, x: x.stride(2), Arg(np.zeros((2, 3))), grad=False)
    check(lambda m, x: x.stride(0), Arg(np.zeros(())), grad=False)


NEW = [
    ("new_zeros", lambda m, x: x.new_zeros(2, 3)),
    ("new_zeros tuple", lambda m, x: x.new_zeros((2, 3))),
    ("new_ones dtype", lambda m, x: x.new_ones([3], dtype=m.float64)),
    ("new_empty shape", lambda m, x: x.new_empty((0, 2)).shape),
    ("new_full", lambda m, x: x.new_full((2, 2), 7)),
    ("new_full float", lambda m, x: x.new_full((2,), 2.5, dtype=m.float32)),
    ("new_tensor", lambda m, x: x.new_tensor([1, 2, 3])),
    ("new_tensor nested", lambda m, x: x.new_tensor([[1.5, 2.5]], dtype=m.float64)),
    ("type_as", lambda m, x: x.type_as(m.zeros(1, dtype=m.float64))),
    ("type_as int", lambda m, x: x.type_as(m.zeros(1, dtype=m.int32))),
]


@pytest.mark.parametrize("name,fn", NEW, ids=[n for n, _ in NEW])
@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.bool_])
def test_new_tensors_copy_the_dtype(name, fn, dtype):
    check(fn, Arg(np.ones((2, 2), dtype=dtype)), grad=False)


def test_new_tensor_requires_grad_and_device():
    x = dg.zeros(2)
    y = x.new_zeros(3, requires_grad=True, device="cpu")
    assert y.requires_grad and y.is_leaf
    with pytest.raises(RuntimeError, match="CPU"):
        x.new_ones(2, device="cuda")


def test_type_as_is_differentiable():
    check(lambda m, x: x.type_as(m.zeros(1, dtype=m.float32)) * 2,
          Arg(RNG.standard_normal(3)), rtol=1e-4)


@pytest.mark.parametrize("size", [(1, 3), (3,), (2, 1), (1, 1), (2, 3), (1, 2, 3), (4,), (3, 2)])
def test_sum_to_size(size):
    check(lambda m, x: x.sum_to_size(*size), Arg(RNG.standard_normal((2, 3))))
    check(lambda m, x: x.sum_to_size(size), Arg(RNG.standard_normal((2, 3))))


def test_split_with_sizes():
    a = RNG.standard_normal((5, 4))
    check(lambda m, x: x.split_with_sizes([2, 3]), Arg(a))
    check(lambda m, x: m.split_with_sizes(x, [1, 3], 1), Arg(a))
    check(lambda m, x: x.split_with_sizes([2, 2]), Arg(a))  # does not add up: error


def test_clone_and_detach_functions():
    a = RNG.standard_normal((2, 3))
    check(lambda m, x: m.clone(x) * 3, Arg(a))
    check(lambda m, x: m.clone(x, memory_format=m.preserve_format if m is torch else None),
          Arg(a))
    check(lambda m, x: m.detach(x), Arg(a))


def test_adjoint_and_conjugate_views():
    a = RNG.standard_normal((2, 3, 4))
    check(lambda m, x: x.mH, Arg(a))
    check(lambda m, x: m.adjoint(x), Arg(a))
    check(lambda m, x: x.adjoint(), Arg(a))
    check(lambda m, x: x[0].H, Arg(a))
    check(lambda m, x: x.H, Arg(a))  # 3-d: error
    check(lambda m, x: m.adjoint(x[0, 0]), Arg(a))  # 1-d: error
    for name in ("is_conj", "is_neg"):
        assert getattr(dg, name)(dg.zeros(2)) is getattr(torch, name)(torch.zeros(2)) is False
    x = dg.ones(2)
    assert dg.resolve_conj(x) is x and dg.resolve_neg(x) is x


def test_questions():
    x = dg.zeros(2, 3)
    assert x.is_same_size(dg.ones(2, 3)) and not dg.is_same_size(x, dg.ones(3, 2))
    assert dg.is_signed(dg.zeros(1, dtype=dg.int8)) and not dg.zeros(1, dtype=dg.uint8).is_signed()
    assert dg.tensor([2]).is_nonzero() and not dg.tensor([0.0]).is_nonzero()
    check(lambda m, x: x.is_nonzero(), Arg(np.zeros(2)), grad=False)


def test_retains_grad():
    for m in (dg, torch):
        leaf = m.ones(2, requires_grad=True)
        middle = leaf * 2
        assert not leaf.retains_grad and not middle.retains_grad
        middle.retain_grad()
        assert middle.retains_grad
        middle.sum().backward()
        assert middle.grad is not None


@pytest.mark.parametrize("element", [2, 2.0, 5, -1.5, True])
def test_contains(element):
    for m in (dg, torch):
        x = m.tensor([[1.0, 2.0], [3.0, -1.5]])
        assert (element in x) == (element in torch.tensor([[1.0, 2.0], [3.0, -1.5]]))
    assert dg.tensor([1.0, 2.0]) in dg.tensor([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(RuntimeError, match="only supports Tensor or scalar"):
        _ = "a" in dg.tensor([1.0])


def test_size():
    size = dg.Size([2, 3])
    assert size == (2, 3) == torch.Size([2, 3]) and size.numel() == torch.Size([2, 3]).numel()
    assert isinstance(size, tuple) and dg.zeros(size).shape == (2, 3)
    assert repr(dg.Size([])) == "deltagrad.Size([])" and dg.Size([]).numel() == 1


def test_default_generator_is_the_one_manual_seed_seeds():
    dg.manual_seed(3)
    assert dg.default_generator.initial_seed() == 3
    a = dg.rand(3, generator=dg.default_generator)
    dg.manual_seed(3)
    assert np.array_equal(dg.rand(3).numpy(), a.numpy())


def test_variable():
    from deltagrad.autograd import Variable

    x = dg.ones(2)
    v = Variable(x, requires_grad=True)
    assert v is not x and v.requires_grad and not x.requires_grad and v.is_leaf
    assert isinstance(x, Variable) and not isinstance(np.ones(1), Variable)
    assert v.data_ptr() == x.data_ptr()


# ----------------------------------------------------------------------------------------------
# Creation.

LOGSPACE = [(0, 3, 4, 10.0, None), (0, 2, 5, 10.0, np.int32), (0, 1, 3, 2.0, None),
            (-1, 1, 3, 10.0, np.float64), (0, 3, 4, 2.5, np.int64), (1, 1, 1, 10.0, None),
            (0, 1, 0, 10.0, None), (2, -2, 5, 3.0, np.float64)]


@pytest.mark.parametrize("start,end,steps,base,dtype", LOGSPACE)
def test_logspace(start, end, steps, base, dtype):
    kwargs = {} if dtype is None else {"dtype": dtype}
    check(lambda m, **kw: m.logspace(start, end, steps, base, **kw), grad=False, **kwargs)


WINDOWS = [
    ("hann", lambda m, n, p: m.hann_window(n, p)),
    ("hamming", lambda m, n, p: m.hamming_window(n, p)),
    ("hamming alpha beta", lambda m, n, p: m.hamming_window(n, p, 0.5, 0.5)),
    ("blackman", lambda m, n, p: m.blackman_window(n, p)),
    ("bartlett", lambda m, n, p: m.bartlett_window(n, p)),
    ("kaiser", lambda m, n, p: m.kaiser_window(n, p)),
    ("kaiser beta", lambda m, n, p: m.kaiser_window(n, p, 5.0)),
]


@pytest.mark.parametrize("name,fn", WINDOWS, ids=[n for n, _ in WINDOWS])
@pytest.mark.parametrize("length", [0, 1, 2, 5, 8])
@pytest.mark.parametrize("periodic", [True, False])
def test_windows(name, fn, length, periodic):
    check(lambda m: fn(m, length, periodic), grad=False, atol=1e-6)


def test_window_dtypes_and_errors():
    check(lambda m: m.hann_window(4, dtype=m.float64), grad=False)
    check(lambda m: m.hann_window(4, dtype=m.int64), grad=False)  # RuntimeError
    check(lambda m: m.hann_window(-1), grad=False)  # RuntimeError
    assert dg.hann_window(3, requires_grad=True).requires_grad


def test_scalar_tensor():
    check(lambda m: m.scalar_tensor(3), grad=False)
    check(lambda m: m.scalar_tensor(True), grad=False)
    check(lambda m: m.scalar_tensor(2.5, dtype=m.float64), grad=False)
    check(lambda m: m.scalar_tensor(7, dtype=m.int32), grad=False)


def test_asarray_shares_memory_where_it_can():
    a = np.arange(3.0)
    for m in (dg, torch):
        shared = m.asarray(a)
        copied = m.asarray(a, copy=True)
        cast = m.asarray(a, dtype=m.float32)
        a[0] = 9.0
        assert shared[0].item() == 9.0 and copied[0].item() == 0.0 and cast[0].item() == 0.0
        a[0] = 0.0
        t = m.ones(2)
        assert m.asarray(t) is t and m.asarray(t, dtype=m.float32) is t
        assert m.asarray(t, copy=True) is not t
    check(lambda m: m.asarray([1, 2]), grad=False)
    check(lambda m: m.asarray([1.5, 2]), grad=False)
    check(lambda m: m.asarray(3.5), grad=False)
    check(lambda m: m.asarray([[True]]), grad=False)
    assert dg.asarray([1.0], requires_grad=True).requires_grad


def test_frombuffer():
    raw = bytearray(np.arange(6, dtype=np.int16).tobytes())
    for dtype, count, offset in [(np.int16, -1, 0), (np.int16, 2, 4), (np.uint8, 3, 1)]:
        ours = dg.frombuffer(raw, dtype=dtype, count=count, offset=offset)
        theirs = torch.frombuffer(raw, dtype={np.int16: torch.int16, np.uint8: torch.uint8}[
            dtype], count=count, offset=offset)
        assert ours.tolist() == theirs.tolist()
    shared = dg.frombuffer(raw, dtype=np.int16)
    raw[0] = 42
    assert shared[0].item() == 42
    assert dg.frombuffer(array.array("d", [1.5, 2.5]), dtype=dg.float64).tolist() == [1.5, 2.5]


def test_float32_matmul_precision_is_recorded():
    # PyTorch's default ("highest"), not torch's current value: another test may have set it.
    assert dg.get_float32_matmul_precision() == "highest"
    try:
        dg.set_float32_matmul_precision("high")
        assert dg.get_float32_matmul_precision() == "high"
        with pytest.warns(UserWarning, match="no effect"):
            dg.set_float32_matmul_precision("fastest")
        assert dg.get_float32_matmul_precision() == "high"
    finally:
        dg.set_float32_matmul_precision("highest")
