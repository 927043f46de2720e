"""Parity with PyTorch: dtype names and conversions, view(dtype), factories' dtype and device
arguments, the default dtype, finfo / iinfo, devices, f-strings, and sparse embedding
gradients."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

import deltagrad as dg  # noqa: E402
from deltagrad import nn  # noqa: E402

DTYPE_NAMES = ["float16", "float32", "float64", "uint8", "int8", "int16", "int32", "int64",
               "bool", "complex64", "complex128"]
ALIASES = ["float", "double", "half", "long", "int", "short", "bool", "cfloat", "cdouble"]


@pytest.mark.parametrize("name", DTYPE_NAMES + ALIASES)
def test_dtype_names_are_pytorchs(name):
    ours, theirs = getattr(dg, name), getattr(torch, name)
    assert str(ours) == str(theirs).replace("torch.", "deltagrad.")
    assert ours.is_floating_point == theirs.is_floating_point
    assert ours.is_complex == theirs.is_complex
    assert ours.is_signed == theirs.is_signed
    assert ours.itemsize == theirs.itemsize
    assert isinstance(ours, dg.dtype)


SOURCES = {
    "float32": np.array([[0.0, 1.5], [2.7, 3.0]], np.float32),
    "float64": np.array([[-2.5, 1.5], [0.25, 7.0]]),
    "float16": np.array([0.5, 1.25, 3.0], np.float16),
    "int64": np.array([[-3, 0], [2, 9]]),
    "int32": np.array([1, 0, 7], np.int32),
    "bool": np.array([True, False, True]),
    "uint8": np.array([0, 5, 255], np.uint8),
}
CONVERTERS = ["float", "double", "half", "long", "int", "short", "char", "byte", "bool"]


@pytest.mark.parametrize("source", sorted(SOURCES))
@pytest.mark.parametrize("method", CONVERTERS)
def test_conversion_methods(source, method):
    array = SOURCES[source]
    if method in ("byte", "char") and array.dtype.kind == "f" and (array < 0).any():
        array = np.abs(array)  # negative floats to uint8 are undefined behaviour in C
    check(lambda m, x: getattr(x, method)(), Arg(array), rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("target", ["float16", "float32", "float64", "int32", "int64", "bool",
                                    "uint8"])
def test_to_and_type_with_a_dtype(target):
    a = SOURCES["float32"]
    check(lambda m, x: x.to(getattr(m, target)), Arg(a), rtol=1e-3)
    check(lambda m, x: x.to("cpu", getattr(m, target)), Arg(a), rtol=1e-3)
    check(lambda m, x: x.to(device="cpu", dtype=getattr(m, target)), Arg(a), rtol=1e-3)
    check(lambda m, x: x.to(m.device("cpu"), getattr(m, target), non_blocking=True), Arg(a),
          rtol=1e-3)
    check(lambda m, x: x.type(getattr(m, target)), Arg(a), rtol=1e-3)
    check(lambda m, x: x.to(m.zeros(1, dtype=getattr(m, target))), Arg(a), rtol=1e-3)


def test_to_keeps_the_tensor_when_nothing_changes_unless_copy():
    for m in (dg, torch):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        assert x.to("cpu") is x and x.to(m.float32) is x and x.cpu() is x
        assert x.to(x) is x and x.to(m.device("cpu"), m.float32) is x
        copied = x.to(m.float32, copy=True)
        assert copied is not x and copied.requires_grad and copied.grad_fn is not None
    check(lambda m, x: x.to(m.float64, copy=True) * 2, Arg(SOURCES["float32"]))


def test_to_with_bad_arguments_raises_type_error():
    a = SOURCES["float32"]
    check(lambda m, x: x.to("cpu", "cpu"), Arg(a))


def test_type_names():
    for source, array in SOURCES.items():
        assert dg.tensor(array).type() == torch.from_numpy(array).type(), source
    check(lambda m, x: x.type("torch.DoubleTensor"), Arg(SOURCES["float32"]))
    check(lambda m, x: x.type(m.LongTensor), Arg(SOURCES["float32"]))


@pytest.mark.parametrize("source,target", [
    ("float32", "int32"), ("float32", "int16"), ("float32", "float64"), ("float32", "uint8"),
    ("int64", "float64"), ("int64", "int32"), ("int32", "float32"), ("uint8", "bool"),
    ("bool", "uint8"), ("float64", "int64")])
def test_view_as_another_dtype(source, target):
    array = (np.arange(16) % (2 if source == "bool" else 16)).astype(SOURCES[source].dtype)
    array = array.reshape(2, 8)
    check(lambda m, x: x.view(getattr(m, target)), Arg(array, requires_grad=False))


def test_view_dtype_errors_match():
    f32 = np.arange(6, dtype=np.float32)
    check(lambda m, x: x.view(m.float64), Arg(f32.reshape(2, 3), requires_grad=False))
    check(lambda m, x: x.view(m.float64), Arg(np.float32(1.0), requires_grad=False))
    check(lambda m, x: x.t().view(m.int16), Arg(f32.reshape(3, 2), requires_grad=False))
    check(lambda m, x: x.t().view(m.int32), Arg(f32.reshape(3, 2), requires_grad=False))
    check(lambda m, x: x.view(m.int32), Arg(np.float32(1.0), requires_grad=False))
    for m in (dg, torch):  # a reinterpreting view never requires grad
        assert not m.ones(2, requires_grad=True).view(m.int32).requires_grad


@pytest.mark.parametrize("factory", [
    lambda m: m.zeros(2, 3, dtype=m.int32, device="cpu"),
    lambda m: m.ones((2,), dtype=m.float64, device=m.device("cpu")),
    lambda m: m.full((2, 2), 7, device="cpu"),
    lambda m: m.full((2,), True),
    lambda m: m.full((2,), 1.5, dtype=m.float16),
    lambda m: m.eye(3, 2, dtype=m.int64, device="cpu"),
    lambda m: m.arange(5, device="cpu"),
    lambda m: m.arange(0, 5, 1.5, dtype=m.int64),
    lambda m: m.arange(0.5, 5.7, 1.5, dtype=m.int32),
    lambda m: m.arange(0.5, 5.7, 1.5),
    lambda m: m.arange(5, 0, 1),
    lambda m: m.arange(0, 1, 0),
    lambda m: m.arange(0.5, 1, 0.2, dtype=m.int64),
    lambda m: m.arange(3, 0, -1),
    lambda m: m.arange(0.0, 1.0, 0.25),
    lambda m: m.arange(1, 4, dtype=m.float64),
    lambda m: m.linspace(5, -5, 20, dtype=m.int32),
    lambda m: m.linspace(0, 1, 5, dtype=m.float64, device="cpu"),
    lambda m: m.linspace(0, 1, 7),
    lambda m: m.linspace(-2.5, 7, 11, dtype=m.float16),
    lambda m: m.linspace(3, 3, 1),
    lambda m: m.linspace(0, 1, 0),
    lambda m: m.linspace(0, 10, 4, dtype=m.int64),
    lambda m: m.linspace(0, 1, -1),
    lambda m: m.tensor([1, 2], dtype=m.uint8, device="cpu"),
    lambda m: m.tensor([1.0], dtype=float),
    lambda m: m.tensor([1], dtype=int),
    lambda m: m.tensor([1], dtype=bool),
    lambda m: m.tensor([[1, 2]], dtype=m.int16, pin_memory=False),
    lambda m: m.as_tensor([1, 2], dtype=m.float64),
    lambda m: m.as_tensor(np.arange(3)),
    lambda m: m.zeros_like(m.ones(2, 2), dtype=m.int8, device="cpu"),
    lambda m: m.ones_like(m.ones(3, dtype=m.int32)),
    lambda m: m.full_like(m.ones(2), 3, dtype=m.int64),
    lambda m: m.LongTensor([1, 2]),
    lambda m: m.FloatTensor([[1, 2]]),
    lambda m: m.DoubleTensor(2, 3).shape,
    lambda m: m.IntTensor(3).dtype == m.int32,
    lambda m: m.BoolTensor([1, 0]),
    lambda m: m.ByteTensor([1, 2]),
    lambda m: m.FloatTensor(),
], ids=lambda f: "")
def test_factories_take_dtype_and_device(factory):
    check(factory, grad=False)


def test_empty_has_the_shape_and_dtype():
    for m in (dg, torch):
        x = m.empty(2, 3, dtype=m.int32, device="cpu")
        assert tuple(x.shape) == (2, 3) and x.dtype == m.int32


def test_legacy_types_as_isinstance_checks_and_errors():
    for m in (dg, torch):
        assert isinstance(m.zeros(2), m.FloatTensor) and not isinstance(m.zeros(2), m.LongTensor)
        assert isinstance(m.zeros(2, dtype=m.int64), m.LongTensor)
    check(lambda m: m.FloatTensor(m.tensor([1, 2])))


def test_default_dtype():
    def under_float64(m):
        m.set_default_dtype(m.float64)
        try:
            return (m.tensor([1.5]), m.zeros(2), m.arange(0.0, 1.0, 0.5), m.tensor([1, 2]) * 1.5,
                    m.tensor([1, 2]).exp(), m.ones(2, dtype=m.float32) * m.tensor([2]),
                    m.ones(2, dtype=m.float16) + m.tensor([1]), m.linspace(0, 1, 3),
                    m.full((1,), 2.0))
        finally:
            m.set_default_dtype(m.float32)

    check(under_float64, grad=False)
    assert dg.get_default_dtype() == dg.float32 and torch.get_default_dtype() == torch.float32
    check(lambda m: m.set_default_dtype(m.int32))


@pytest.mark.parametrize("name", ["float16", "float32", "float64"])
def test_finfo(name):
    ours, theirs = dg.finfo(getattr(dg, name)), torch.finfo(getattr(torch, name))
    for attribute in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution",
                      "dtype"):
        assert getattr(ours, attribute) == getattr(theirs, attribute), attribute
    assert repr(ours) == repr(theirs)
    assert dg.finfo().eps == torch.finfo().eps


@pytest.mark.parametrize("name", ["uint8", "int8", "int16", "int32", "int64"])
def test_iinfo(name):
    ours, theirs = dg.iinfo(getattr(dg, name)), torch.iinfo(getattr(torch, name))
    for attribute in ("bits", "max", "min", "dtype"):
        assert getattr(ours, attribute) == getattr(theirs, attribute), attribute


def test_finfo_iinfo_errors():
    check(lambda m: m.finfo(m.int32))
    check(lambda m: m.iinfo(m.float32))
    check(lambda m: m.iinfo(m.bool))


@pytest.mark.parametrize("spec", ["cpu", "cpu:0", "cuda", "cuda:1", "mps"])
def test_devices_print_and_compare_as_pytorchs(spec):
    ours, theirs = dg.device(spec), torch.device(spec)
    assert (str(ours), repr(ours), ours.type, ours.index) == (
        str(theirs), repr(theirs), theirs.type, theirs.index)
    assert (ours == dg.device("cpu")) == (theirs == torch.device("cpu"))
    assert (ours == spec) == (theirs == spec)  # False: a device is not a string


def test_device_constructor_forms():
    assert dg.device("cpu", 0) == dg.device("cpu:0") and dg.device("cpu") != dg.device("cpu:0")
    assert dg.device(dg.device("cpu")) == dg.device("cpu")
    assert hash(dg.device("cpu")) == hash(dg.device("cpu"))
    check(lambda m: m.device("foo"))
    for m in (dg, torch):
        assert m.ones(2).device == m.device("cpu") and not m.ones(2).is_cuda
        assert m.tensor([1.0], device=m.device("cpu", 0)).device == m.device("cpu")


def test_questions_about_a_tensor():
    check(lambda m, x: (x.is_floating_point(), m.is_floating_point(x), m.numel(x),
                        x.element_size(), x.is_complex(), x.is_signed()),
          Arg(SOURCES["int32"]))
    check(lambda m, x: m.is_nonzero(x), Arg(np.array([0.0])), grad=False)
    check(lambda m, x: m.is_nonzero(x), Arg(np.array([2])), grad=False)
    check(lambda m, x: m.is_nonzero(x), Arg(np.array([1.0, 2.0])), grad=False)
    check(lambda m, x: m.is_nonzero(x), Arg(np.zeros(0)), grad=False)


@pytest.mark.parametrize("value,spec", [(1.234567, ".4f"), (1.234567, ""), (3, ""), (3, "d"),
                                        (2.5, "e"), (True, ""), (-0.5, "+.2f"), (7, ">5")])
def test_format_of_0d_tensors(value, spec):
    assert format(dg.tensor(value), spec) == format(torch.tensor(value), spec)


def test_format_of_larger_tensors():
    x = dg.tensor([1.0, 2.0])
    assert f"{x}" == repr(x)
    for m in (dg, torch):
        with pytest.raises(TypeError):
            format(m.tensor([1.0]), ".3f")


def test_repr_names_the_dtype_like_pytorch():
    assert repr(dg.tensor([1, 2], dtype=dg.int32)) == "tensor([1, 2], dtype=deltagrad.int32)"
    assert repr(torch.tensor([1, 2], dtype=torch.int32)) == "tensor([1, 2], dtype=torch.int32)"
    assert repr(dg.tensor([1.5])) == "tensor([1.5000])"  # default dtypes are not named, as torch


# ----------------------------------------------------------------------------------------------
# Sparse embedding gradients are sparse Tensors, as in PyTorch.


def _sparse_pair(ids=((1, 3, 1), (0, 3, 3))):
    weight = np.random.default_rng(0).standard_normal((6, 3)).astype(np.float32)
    ours, theirs = nn.Embedding(6, 3, sparse=True), torch.nn.Embedding(6, 3, sparse=True)
    ours.weight.detach().numpy()[...] = weight
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(weight))
    cotangent = np.random.default_rng(1).standard_normal((2, 3, 3)).astype(np.float32)
    (ours(dg.tensor(ids)) * dg.tensor(cotangent)).sum().backward()
    (theirs(torch.tensor(ids)) * torch.from_numpy(cotangent)).sum().backward()
    return ours.weight.grad, theirs.weight.grad


def test_sparse_gradient_is_a_sparse_tensor():
    ours, theirs = _sparse_pair()
    assert isinstance(ours, dg.Tensor) and ours.is_sparse and theirs.is_sparse
    assert str(ours.layout) == str(theirs.layout).replace("torch", "deltagrad")
    assert tuple(ours.shape) == tuple(theirs.shape) and ours.dtype == dg.float32
    assert ours.is_coalesced() == theirs.is_coalesced()
    assert ours._nnz() == theirs._nnz()
    assert (ours.sparse_dim(), ours.dense_dim()) == (theirs.sparse_dim(), theirs.dense_dim())
    assert not ours.requires_grad and ours.is_leaf and ours.device == dg.device("cpu")
    np.testing.assert_array_equal(ours._indices().numpy(), theirs._indices().numpy())
    np.testing.assert_allclose(ours._values().numpy(), theirs._values().numpy(), rtol=1e-6)
    np.testing.assert_allclose(ours.to_dense().numpy(), theirs.to_dense().numpy(), rtol=1e-6)


def test_sparse_gradient_coalesce_indices_values():
    ours, theirs = _sparse_pair()
    with pytest.raises(RuntimeError, match="uncoalesced"):
        ours.indices()
    with pytest.raises(RuntimeError):
        theirs.indices()
    ours_c, theirs_c = ours.coalesce(), theirs.coalesce()
    assert ours_c.is_sparse and ours_c.is_coalesced() and ours_c.coalesce() is ours_c
    np.testing.assert_array_equal(ours_c.indices().numpy(), theirs_c.indices().numpy())
    np.testing.assert_allclose(ours_c.values().numpy(), theirs_c.values().numpy(), rtol=1e-6)


def test_sparse_gradient_arithmetic():
    ours, theirs = _sparse_pair()

    def same(a, b):
        assert a.is_sparse == b.is_sparse
        a = a.to_dense() if a.is_sparse else a
        b = b.to_dense() if b.is_sparse else b
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)

    same(ours * 2, theirs * 2)
    same(0.5 * ours, 0.5 * theirs)
    same(ours / 4, theirs / 4)
    same(-ours, -theirs)
    same(ours + ours, theirs + theirs)
    same(ours.to_dense() + ours, theirs.to_dense() + theirs)
    same(ours.norm(), theirs.norm())
    same(ours.sum(), theirs.sum())
    same(ours.to(dg.float64), theirs.to(torch.float64))
    assert ours.double().dtype == dg.float64 and ours.double().is_sparse
    assert ours.float() is ours and ours.clone().is_sparse and ours.detach().is_sparse
    same(ours[1], theirs[1])
    same(ours.clone().mul_(3.0), theirs.clone().mul_(3.0))
    for lib_grad in (ours, theirs):
        with pytest.raises(RuntimeError, match="add\\(sparse, dense\\)"):
            lib_grad + lib_grad.to_dense()
        with pytest.raises(TypeError):
            lib_grad.numpy()
        with pytest.raises(NotImplementedError):
            lib_grad.exp()
    zeroed = ours.clone().zero_()
    assert zeroed._nnz() == 0 and not zeroed.to_dense().numpy().any()


def test_sparse_gradients_accumulate_and_train_as_pytorch():
    weight = np.random.default_rng(2).standard_normal((8, 4))
    ours, theirs = nn.Embedding(8, 4, sparse=True).double(), torch.nn.Embedding(
        8, 4, sparse=True).double()
    ours.weight.detach().numpy()[...] = weight
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(weight))
    ours_opt = dg.optim.SGD(ours.parameters(), lr=0.1)
    theirs_opt = torch.optim.SGD(theirs.parameters(), lr=0.1)
    for ids in ([[1, 2], [2, 7]], [[0, 0], [5, 1]]):
        for _ in range(2):  # two backwards: the sparse gradients accumulate
            (ours(dg.tensor(ids)) ** 2).sum().backward()
            (theirs(torch.tensor(ids)) ** 2).sum().backward()
        assert ours.weight.grad.coalesce()._nnz() == theirs.weight.grad.coalesce()._nnz()
        ours_opt.step()
        theirs_opt.step()
        ours_opt.zero_grad()
        theirs_opt.zero_grad()
    np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy(),
                               rtol=1e-12)
