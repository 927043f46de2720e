"""Differences from PyTorch that session 25's program fuzzer families (``s25_SL10_families.py``:
integer / bool chains, conversion, empty tensors, views of views, shape-op edges) found, each
checked against PyTorch after its fix."""

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402


def _name(dtype):
    return str(dtype).rsplit(".", 1)[-1]


def _same(got, ref):
    assert _name(got.dtype) == _name(ref.dtype)
    assert tuple(got.shape) == tuple(ref.shape)
    np.testing.assert_array_equal(got.numpy(), ref.numpy())


@pytest.mark.parametrize("alpha", [0, 1, 2, -1, True, False])
@pytest.mark.parametrize("inplace", [False, True])
def test_index_add_on_bool_takes_alpha_as_a_bool(alpha, inplace):
    # index_add on a bool tensor with alpha != 1: deltagrad multiplied the bool source by the
    # int alpha (int64), so the out-of-place result was int64 (PyTorch: bool, alpha as a
    # bool: 0 adds nothing) and the in-place form raised a cast error
    def run(lib):
        x = lib.tensor([[True, False, False], [False, False, True]])
        src = lib.tensor([[True, True], [False, True]])
        index = lib.tensor([1, 1])
        if inplace:
            return x.index_add_(1, index, src, alpha=alpha)
        return lib.index_add(x, 1, index, src, alpha=alpha)

    _same(run(dg), run(torch))


@pytest.mark.parametrize("default", ["bfloat16", "float16", "float64", "float32"])
def test_finfo_of_the_default_dtype(default):
    # torch.finfo() under set_default_dtype(bfloat16) raised TypeError (bfloat16's NumPy dtype
    # is no floating kind); PyTorch gives bfloat16's limits
    def run(lib):
        lib.set_default_dtype(getattr(lib, default))
        try:
            info = lib.finfo()
            return (info.eps, info.max, info.tiny, info.bits, info.resolution, str(info.dtype))
        finally:
            lib.set_default_dtype(lib.float32)

    assert run(dg) == run(torch)


@pytest.mark.parametrize("shape,chunks,dim", [((0,), 3, 0), ((2, 0), 2, 1), ((2, 0), 1, -1),
                                              ((0, 3), 4, 0), ((1, 0, 2), 5, 1)])
@pytest.mark.parametrize("grad", [False, True])
def test_chunk_of_an_empty_dim_gives_chunks_pieces(shape, chunks, dim, grad):
    # chunk along a 0-size dim: PyTorch returns `chunks` empty pieces, deltagrad returned one
    def run(lib):
        x = lib.zeros(shape, requires_grad=grad)
        pieces = x.chunk(chunks, dim)
        names = [None if p.grad_fn is None else p.grad_fn.name() for p in pieces]
        if grad:
            lib.cat([p.reshape(-1) for p in pieces]).sum().backward()
        return [tuple(p.shape) for p in pieces], names, None if x.grad is None else tuple(
            x.grad.shape)

    assert run(dg) == run(torch)



@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", "int64"])
@pytest.mark.parametrize("lo,hi", [(-1, 2.5), (0.5, 250), (-200, 2.5), (-1.5, 300), (True, 2.5),
                                   (None, 2.5), (-3, None), (2, 1.5), (0, 3)])
def test_clamp_of_integers_with_a_float_bound_does_not_cast_the_int_bound(dtype, lo, hi):
    # clamp(uint8, -1, 2.5): the result is float, but deltagrad cast -1 into uint8 first
    # (255: every value came out 2.5); int8 with -200 or 250 beside a float bound raised the
    # overflow error PyTorch gives only for an integer result
    def run(lib):
        x = lib.tensor([0, 100, 3, 1], dtype=getattr(lib, dtype))
        try:
            return lib.clamp(x, lo, hi)
        except Exception as exc:  # noqa: BLE001 - the class is compared
            return type(exc).__name__

    ref, got = run(torch), run(dg)
    if isinstance(ref, str):
        assert got == ref
    else:
        _same(got, ref)


@pytest.mark.parametrize("dtype", ["float32", "int64", "bool"])
@pytest.mark.parametrize("value", [None, "abc"])
def test_setitem_of_none_or_a_string_raises_type_error(dtype, value):
    # `t[:1] = None` wrote nan into a float tensor (NumPy's conversion); PyTorch refuses it
    for lib in (torch, dg):
        t = lib.tensor([1, 0], dtype=getattr(lib, dtype))
        with pytest.raises(TypeError, match="can't assign a"):
            t[:1] = value
        assert t.tolist() == [1, 0]


@pytest.mark.parametrize("shape,target", [((0,), "float16"), ((0,), "int8"), ((0, 4), "float64"),
                                          ((3, 0, 2), "int16"), ((2, 0), "float16"),
                                          ((2, 0), "float64"), ((0, 3), "float64")])
def test_view_dtype_of_an_empty_tensor(shape, target):
    # an empty tensor viewed as a dtype of another element size raised (an empty array's
    # stride read as its layout); PyTorch gives the empty view, or its stride error
    def run(lib):
        try:
            out = lib.zeros(shape).view(getattr(lib, target))
            return tuple(out.shape), _name(out.dtype)
        except RuntimeError:
            return "RuntimeError"

    assert run(dg) == run(torch)


def test_tensor_of_mixed_elements_under_a_bfloat16_default():
    # a sequence mixing Python floats and tensors under set_default_dtype(bfloat16) raised
    # KeyError (bfloat16's NumPy kind 'V' had no category in the element promotion)
    def run(lib):
        lib.set_default_dtype(lib.bfloat16)
        try:
            out = []
            for data in ([[float("nan"), lib.tensor(2, dtype=lib.uint8), 1.5]],
                         [1.5, lib.tensor(2.0, dtype=lib.float16)], [True, 2.5],
                         [lib.tensor(1.0, dtype=lib.bfloat16), lib.tensor(1.0,
                                                                          dtype=lib.float64)]):
                t = lib.tensor(data)
                out.append((_name(t.dtype), t.float().tolist()))
            return str(out)
        finally:
            lib.set_default_dtype(lib.float32)

    assert run(dg) == run(torch)


@pytest.mark.parametrize("dtype", [np.float32, np.complex64, np.int64, np.bool_])
@pytest.mark.parametrize("copy", [None, False, True])
def test_asarray_copies_a_0d_array(dtype, copy):
    # torch.asarray reads a 0-d ndarray as a scalar: a copy (even under copy=False); deltagrad
    # shared it, so a later write into the array showed in the tensor
    def run(lib):
        a = np.zeros((), dtype=dtype)
        t = lib.asarray(a, copy=copy)
        a[()] = 1
        return t.tolist(), _name(t.dtype)

    assert run(dg) == run(torch)


def test_asarray_of_a_numpy_scalar_with_copy_false_raises():
    for lib in (torch, dg):
        with pytest.raises(RuntimeError, match="can't alias NumPy scalars"):
            lib.asarray(np.float32(1.5), copy=False)
        assert lib.asarray(np.float32(1.5)).item() == 1.5


@pytest.mark.parametrize("data,dtype", [([2**63], None), (2**63, None), ([2.5, -1], "uint8"),
                                        ([[1, 2]], "float64"), ([True, 2], None),
                                        ([np.float32(2.5), 1], None)])
def test_as_tensor_of_python_data_converts_as_tensor_does(data, dtype):
    # as_tensor([2**63]) gave a uint64 tensor (NumPy's inference); PyTorch's parse raises
    def run(lib):
        try:
            t = lib.as_tensor(data, dtype=None if dtype is None else getattr(lib, dtype))
            return t.tolist(), _name(t.dtype)
        except ValueError as exc:
            return str(exc)

    assert run(dg) == run(torch)


@pytest.mark.parametrize("shape,dim,dtype", [((0,), 0, "float32"), ((2, 0, 1), -2, "float32"),
                                             ((0, 3), 0, "bool"), ((0, 3), 1, "bool"),
                                             ((3, 0), 0, "float32"), ((0,), 0, "bool")])
def test_kthvalue_over_an_empty_dim_is_index_error(shape, dim, dtype):
    # an empty reduction dim is PyTorch's IndexError, checked before the bool dtype's
    # NotImplementedError; deltagrad raised RuntimeError / NotImplementedError
    def run(lib):
        try:
            values, _ = lib.zeros(shape, dtype=getattr(lib, dtype)).kthvalue(1, dim)
            return tuple(values.shape)
        except Exception as exc:  # noqa: BLE001 - the class is compared
            return type(exc).__name__

    assert run(dg) == run(torch)


@pytest.mark.parametrize("index", [[True], [[True]], [True, False], [False, False],
                                   (Ellipsis, [True, False]), [[True, False]]],
                         ids=["short", "nested", "two", "none", "ellipsis", "nested2"])
@pytest.mark.parametrize("dtype", ["float16", "float64", "uint8", "bool"])
def test_setitem_through_a_list_of_bools_casts_a_one_element_value(index, dtype):
    # `x[[True, False]] = half_tensor`: a list of bools is a mask to PyTorch (a masked_fill_,
    # which casts a one-element value); deltagrad took it for index tensors (index_put_, whose
    # dtypes must match) and raised
    def run(lib):
        x = lib.tensor([0.25, 1.5])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (PyTorch: a non-tuple sequence's deprecation)
            try:
                x[index] = lib.tensor(3.0, dtype=getattr(lib, dtype))
            except IndexError:  # (a mask of another length)
                return "IndexError"
        return x.tolist()

    assert run(dg) == run(torch)


@pytest.mark.parametrize("index", [([False, False, False],), ([False, True], 0), ([True, True],),
                                   (0, [True, False, True])],
                         ids=["rows", "rows-int", "all", "int-cols"])
def test_setitem_of_a_2d_tensor_through_a_list_of_bools(index):
    def run(lib):
        x = lib.tensor([[1, -3, 2], [-5, 2, -4]], dtype=lib.int16)[:, :3]
        if len(index) == 1 and len(index[0]) == 3:
            x = x.t().contiguous()
        x[index if len(index) > 1 else index[0]] = lib.tensor(-1.6, dtype=lib.float16)
        return x.tolist()

    assert run(dg) == run(torch)


@pytest.mark.parametrize("other", ["int64", "int32", "int16", "int8", "uint8", "bool", "float16",
                                   "float32"])
@pytest.mark.parametrize("join", ["cat", "stack", "hstack", "vstack"])
def test_joining_bfloat16_with_integers_stays_bfloat16(other, join):
    # torch.cat([bfloat16, int64]) was float64 (NumPy's concatenate promotion; int16: float32);
    # PyTorch's is bfloat16 for integer and bool partners
    def run(lib):
        a = lib.tensor([1.5, 300.7], dtype=lib.bfloat16, requires_grad=True)
        b = lib.tensor([3, 1], dtype=getattr(lib, other))
        out = getattr(lib, join)([a, b])
        out.float().sum().backward()
        return _name(out.dtype), out.float().tolist(), a.grad.float().tolist()

    assert run(dg) == run(torch)
