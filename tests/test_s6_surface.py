"""The PyTorch surface real programs hit first, against PyTorch: legacy constructors
(``torch.Tensor(2, 3)``, ``FloatTensor``, ``x.new``, ``x.type``), memory formats, storage and
pointers, and the small modules (version, random, cpu, jit, multiprocessing, gradient)."""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _run(module, fn):
    try:
        return fn(module), None
    except Exception as error:  # noqa: BLE001 - the exception type is what is compared
        return None, error


def _same(fn, values: bool = True):
    """``fn(torch)`` and ``fn(dg)`` agree: the same exception type, or the same shape, dtype
    and (for ``values``) elements."""
    expected, expected_error = _run(torch, fn)
    actual, actual_error = _run(dg, fn)
    if expected_error is not None:
        assert actual_error is not None, f"PyTorch raised {expected_error!r}, deltagrad did not"
        assert isinstance(actual_error, type(expected_error)), (actual_error, expected_error)
        return
    assert actual_error is None, f"deltagrad raised {actual_error!r}"
    assert tuple(actual.shape) == tuple(expected.shape)
    assert str(actual.dtype).split(".")[-1] == str(expected.dtype).split(".")[-1]
    if values:
        np.testing.assert_array_equal(actual.detach().numpy(), expected.detach().numpy())


# ----------------------------------------------------------------------------------------------
# Legacy constructors.

SIZES = {
    "sizes": lambda m: m.Tensor(2, 3),
    "one size": lambda m: m.Tensor(3),
    "Size": lambda m: m.Tensor(m.Size([2, 3])),
    "empty": lambda m: m.Tensor(),
    "numpy int size": lambda m: m.Tensor(np.int64(3)),
    "FloatTensor sizes": lambda m: m.FloatTensor(3, 4),
    "FloatTensor Size": lambda m: m.FloatTensor(m.Size([3, 4])),
    "LongTensor size": lambda m: m.LongTensor(5),
    "DoubleTensor empty": lambda m: m.DoubleTensor(),
    "new sizes": lambda m: m.ones(2, dtype=m.int32).new(2, 3),
    "new Size": lambda m: m.ones(2, dtype=m.int32).new(m.Size([4])),
    "new empty": lambda m: m.ones(2, dtype=m.float64).new(),
    "Parameter idiom": lambda m: m.nn.init.kaiming_uniform_(m.nn.Parameter(m.Tensor(4, 3))),
}

DATA = {
    "list": lambda m: m.Tensor([1, 2]),
    "nested": lambda m: m.Tensor([[1, 2], [3, 4]]),
    "tuple is data": lambda m: m.Tensor((2, 3)),
    "empty list": lambda m: m.Tensor([]),
    "int ndarray": lambda m: m.Tensor(np.array([1, 2])),
    "float64 ndarray": lambda m: m.Tensor(np.array([1.5, 2.0])),
    "0-d ndarray": lambda m: m.Tensor(np.array(2.0)),
    "tensor keeps dtype": lambda m: m.Tensor(m.ones(2, dtype=m.float64)),
    "int tensor": lambda m: m.Tensor(m.arange(3)),
    "LongTensor data": lambda m: m.LongTensor([1.7, 2]),
    "LongTensor ndarray": lambda m: m.LongTensor(np.array([1.5])),
    "DoubleTensor ndarray": lambda m: m.DoubleTensor(np.array([1, 2])),
    "BoolTensor": lambda m: m.BoolTensor([0, 1]),
    "FloatTensor tensor": lambda m: m.FloatTensor(m.ones(2)),
    "new data": lambda m: m.ones(2, dtype=m.int32).new([1.5, 2]),
    "new ndarray": lambda m: m.ones(2, dtype=m.int32).new(np.array([1.5])),
    "float size": lambda m: m.Tensor(3.5),
    "bool": lambda m: m.Tensor(True),
    "numpy float": lambda m: m.Tensor(np.float64(2.0)),
    "mixed sizes": lambda m: m.Tensor(2, 3.0),
    "two lists": lambda m: m.Tensor([1], [2]),
    "negative": lambda m: m.Tensor(-1),
    "LongTensor float": lambda m: m.LongTensor(2.0),
    "FloatTensor float64 tensor": lambda m: m.FloatTensor(m.ones(2, dtype=m.float64)),
    "new other dtype tensor": lambda m: m.ones(2, dtype=m.int32).new(m.ones(2)),
    "new number": lambda m: m.ones(2).new(3.5),
    "cuda": lambda m: m.FloatTensor(2, device="cuda"),
}


@pytest.mark.parametrize("name", list(SIZES))
def test_legacy_sizes(name):
    _same(SIZES[name], values=False)


@pytest.mark.parametrize("name", list(DATA))
def test_legacy_data(name):
    _same(DATA[name])


def test_legacy_sizes_are_zeros_and_default_dtype():
    assert not dg.Tensor(2, 3).numpy().any()
    dg.set_default_dtype(dg.float64)
    try:
        assert dg.Tensor(2).dtype == dg.float64 and dg.Tensor([1]).dtype == dg.float64
        assert dg.FloatTensor(1).dtype == dg.float32
    finally:
        dg.set_default_dtype(dg.float32)


def test_legacy_tensor_argument_is_shared():
    for m in (torch, dg):
        a = m.ones(2)
        b = m.Tensor(a)
        assert b is not a and b.data_ptr() == a.data_ptr()
        assert m.FloatTensor(a).data_ptr() == a.data_ptr() and m.FloatTensor(a) is not a
        assert not m.ones(2, requires_grad=True).new(2).requires_grad
        # Of a tensor that requires grad: a differentiable alias.
        w = m.ones(2, requires_grad=True)
        for make in (m.FloatTensor, w.new):
            alias = make(w)
            assert alias.requires_grad and alias.data_ptr() == w.data_ptr()
            (alias * 3).sum().backward()
        assert w.grad.tolist() == [6.0, 6.0]
    with pytest.raises(RuntimeError, match="view_as"):  # PyTorch's alias, not made here
        dg.Tensor(dg.ones(2, requires_grad=True))


def test_parameter_of_legacy_tensor_trains():
    layer = dg.nn.Parameter(dg.Tensor(3, 2))
    dg.nn.init.xavier_uniform_(layer)
    (layer.sum() * 2).backward()
    assert layer.grad.shape == (3, 2) and bool((layer.grad == 2).all())


@pytest.mark.parametrize("target", ["torch.DoubleTensor", "torch.LongTensor", "DoubleTensor",
                                    "Tensor", "float64", "torch.float32", "torch.Foo",
                                    "FloatTensor", "torch.cuda.FloatTensor"])
def test_type(target):
    def convert(m):
        if target in ("DoubleTensor", "Tensor", "FloatTensor", "float64"):
            return m.ones(2, dtype=m.int64).type(getattr(m, target))
        return m.ones(2, dtype=m.int64).type(target)

    _same(convert)
    for m in (torch, dg):
        assert m.ones(2).type() == "torch.FloatTensor"
        assert m.arange(2).type() == "torch.LongTensor"


# ----------------------------------------------------------------------------------------------
# Memory formats.

@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (2, 1, 4, 5), (2, 3, 1, 1), (1, 3, 1, 1),
                                   (2, 3, 4), (2, 3, 4, 5, 6)])
def test_is_contiguous_answers_honestly(shape):
    for fmt in ("contiguous_format", "channels_last", "channels_last_3d"):
        x_t = torch.zeros(shape)
        x_d = dg.zeros(shape)
        for f in (lambda x: x, lambda x: x.transpose(0, -1)):
            assert (f(x_d).is_contiguous(memory_format=getattr(dg, fmt))
                    == f(x_t).is_contiguous(memory_format=getattr(torch, fmt))), (shape, fmt)


@pytest.mark.parametrize("call", [
    lambda m, x: x.contiguous(memory_format=m.channels_last),
    lambda m, x: x.contiguous(memory_format=m.contiguous_format),
    lambda m, x: x.contiguous(memory_format=m.preserve_format),
    lambda m, x: x.contiguous(),
    lambda m, x: x.clone(memory_format=m.channels_last),
    lambda m, x: x.clone(),
    lambda m, x: m.clone(x, memory_format=m.channels_last),
    lambda m, x: x.to(memory_format=m.channels_last),
    lambda m, x: x.to(m.float64, memory_format=m.channels_last),
    lambda m, x: m.empty_like(x, memory_format=m.channels_last),
    lambda m, x: m.zeros_like(x.contiguous(memory_format=m.channels_last)),
    lambda m, x: m.ones_like(x, memory_format=m.contiguous_format),
    lambda m, x: m.empty(2, 3, 4, 5, memory_format=m.channels_last),
    lambda m, x: x.contiguous(memory_format=m.channels_last).contiguous(),
    lambda m, x: x[:, :, :2].contiguous(memory_format=m.channels_last),
    lambda m, x: x.sum(0).contiguous(memory_format=m.channels_last),
    lambda m, x: x.contiguous(memory_format=m.channels_last_3d),
    lambda m, x: x.contiguous(memory_format=1),
    lambda m, x: x.contiguous(memory_format=None),
    lambda m, x: x.transpose(0, 1).contiguous(memory_format=m.preserve_format),
    lambda m, x: m.tensor(x.is_contiguous(memory_format=m.preserve_format)),
    lambda m, x: m.tensor(x.transpose(0, 1).is_contiguous(memory_format=m.preserve_format)),
    lambda m, x: m.tensor(x.is_contiguous(memory_format=None)),
])
def test_memory_format_layouts(call):
    values = np.random.default_rng(0).standard_normal((2, 3, 4, 5)).astype(np.float32)
    expected, expected_error = _run(torch, lambda m: call(m, m.tensor(values)))
    actual, actual_error = _run(dg, lambda m: call(m, m.tensor(values)))
    if expected_error is not None:
        assert isinstance(actual_error, type(expected_error)), (actual_error, expected_error)
        return
    assert actual_error is None, actual_error
    assert actual.stride() == expected.stride() and actual.dtype == getattr(
        dg, str(expected.dtype).split(".")[-1])
    assert actual.is_contiguous() == expected.is_contiguous()
    # (PyTorch's empty memory holds garbage)
    if not any("empty" in name for name in call.__code__.co_names):
        np.testing.assert_array_equal(actual.numpy(), expected.numpy())


def test_channels_last_is_differentiable_and_keeps_values():
    values = np.random.default_rng(1).standard_normal((2, 3, 2, 2))
    grads = []
    for m in (torch, dg):
        x = m.tensor(values, requires_grad=True)
        y = x.contiguous(memory_format=m.channels_last)
        (y * m.arange(24.0, dtype=m.float64).reshape(2, 3, 2, 2)).sum().backward()
        grads.append(x.grad.numpy())
        assert y.reshape(-1).shape == (24,)
    np.testing.assert_array_equal(grads[0], grads[1])
    assert repr(dg.channels_last) == "deltagrad.channels_last"
    assert isinstance(dg.preserve_format, dg.memory_format)


# ----------------------------------------------------------------------------------------------
# Storage and pointers.

def test_data_ptr_and_storage():
    for m in (torch, dg):
        x = m.arange(6, dtype=m.float64)
        assert x[1:].data_ptr() - x.data_ptr() == 8
        assert x.reshape(2, 3).t().data_ptr() == x.data_ptr()
        view = x[2:]
        assert view.storage_offset() == 2
        assert view.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
        assert len(view.untyped_storage()) == 48 and view.untyped_storage().nbytes() == 48
        assert x.storage().size() == 6 and x.storage().tolist() == list(range(6))
        assert x.storage().element_size() == 8
        assert x.storage()[3] == 3.0
        assert not x.is_pinned()
        with pytest.raises(RuntimeError):
            x.pin_memory()
    shared = dg.ones(3)
    shared[1:].storage()[0] = 5.0  # writes through to the tensor, as PyTorch's storage does
    assert shared.tolist() == [5.0, 1.0, 1.0]
    assert "TypedStorage(dtype=deltagrad.float32" in repr(shared.storage())


# ----------------------------------------------------------------------------------------------
# Modules and top-level functions.

def test_version_cpu_jit_multiprocessing():
    assert dg.version.__version__ == dg.__version__ and dg.version.cuda is None
    assert isinstance(dg.version.git_version, str) and dg.version.debug is False
    assert (dg.cpu.is_available(), dg.cpu.device_count(), dg.cpu.current_device()) == (
        torch.cpu.is_available(), torch.cpu.device_count(), torch.cpu.current_device())
    dg.cpu.synchronize()

    model = dg.nn.Linear(2, 2)
    assert dg.jit.script(model) is model and dg.jit.trace(model, dg.ones(1, 2)) is model
    assert not dg.jit.is_scripting() and not dg.jit.is_tracing()
    assert dg.jit.annotate(list, [1]) == [1]

    @dg.jit.ignore
    def f(x):
        return x + 1

    @dg.jit.ignore(drop=True)
    def g(x):
        return x + 2

    assert f(1) == 2 and g(1) == 3 and dg.jit.unused(f) is f and dg.jit.export(g) is g
    with pytest.raises(NotImplementedError, match="state_dict"):
        dg.jit.save(model, "x.pt")

    import deltagrad.multiprocessing as mp

    assert mp.Queue is not None and mp.get_sharing_strategy() == "file_descriptor"
    assert mp.get_all_sharing_strategies() == torch.multiprocessing.get_all_sharing_strategies()
    mp.set_sharing_strategy("file_system")
    try:
        assert mp.get_sharing_strategy() == "file_system"
        with pytest.raises(AssertionError):
            mp.set_sharing_strategy("nope")
    finally:
        mp.set_sharing_strategy("file_descriptor")


def test_random_module_and_fork_rng():
    assert dg.random.manual_seed is dg.manual_seed
    dg.random.manual_seed(3)
    assert dg.random.initial_seed() == 3
    state = dg.random.get_rng_state()
    first = dg.rand(3)
    dg.random.set_rng_state(state)
    assert bool((dg.rand(3) == first).all())
    dg.random.manual_seed(3)
    with dg.random.fork_rng():
        inside = dg.rand(3)
    assert bool((dg.rand(3) == inside).all())
    with pytest.raises(KeyError):  # the state is restored even when the block raises
        with dg.random.fork_rng():
            dg.rand(5)
            raise KeyError
    assert bool((dg.rand(3) != inside).any())


@pytest.mark.parametrize("name", ["torch.DoubleTensor", "DoubleTensor", "float64",
                                  "torch.LongTensor", "LongTensor", "FloatTensor"])
def test_set_default_tensor_type(name, recwarn):
    results = []
    for m in (torch, dg):
        target = getattr(m, name) if "." not in name else name
        try:
            m.set_default_tensor_type(target)
            results.append((str(m.get_default_dtype()).split(".")[-1],
                            str(m.Tensor(1).dtype).split(".")[-1],
                            str(m.tensor(1.0).dtype).split(".")[-1]))
        except Exception as error:  # noqa: BLE001
            results.append(type(error))
        finally:
            m.set_default_dtype(m.float32)
    assert results[0] == results[1]


def test_typename_and_vmap():
    for value, expected in ((dg.zeros(2), "torch.FloatTensor"), (dg.arange(2), "torch.LongTensor"),
                            (3, "int"), ("a", "str"), (dg.nn.Parameter(dg.ones(1)),
                                                       "torch.FloatTensor")):
        assert dg.typename(value) == expected
    assert dg.typename(dg.nn.Linear(1, 1)).endswith(".Linear")
    assert dg.typename(dg.nn.Linear) == dg.typename(dg.nn.Linear(1, 1))
    assert dg.vmap is dg.func.vmap


GRADIENTS = {
    "default": lambda m, x: m.gradient(x),
    "scalar spacing": lambda m, x: m.gradient(x, spacing=2.0),
    "int spacing": lambda m, x: m.gradient(x, spacing=3),
    "list spacing": lambda m, x: m.gradient(x, spacing=[1.0, 2.0]),
    "dim": lambda m, x: m.gradient(x, dim=1),
    "negative dim": lambda m, x: m.gradient(x, dim=-2, spacing=0.5),
    "dims": lambda m, x: m.gradient(x, dim=[1, 0], spacing=[2.0, 3.0]),
    "edge 2": lambda m, x: m.gradient(x, edge_order=2),
    "coordinates": lambda m, x: m.gradient(
        x, spacing=(m.tensor([0.0, 0.5, 2.0, 2.5], dtype=x.dtype),
                    m.tensor([0.0, 1.0, 3.0, 4.0, 7.0], dtype=x.dtype))),
    "coordinates edge 2": lambda m, x: m.gradient(
        x, spacing=(m.tensor([0.0, 0.5, 2.0, 2.5], dtype=x.dtype),
                    m.tensor([0.0, 1.0, 3.0, 4.0, 7.0], dtype=x.dtype)), edge_order=2),
    "edge 3": lambda m, x: m.gradient(x, edge_order=3),
    "too short": lambda m, x: m.gradient(x[:1]),
    "spacing length": lambda m, x: m.gradient(x, spacing=[1.0, 2.0, 3.0]),
    "dim out of range": lambda m, x: m.gradient(x, dim=2),
    "0-d": lambda m, x: m.gradient(x.sum()),
    "int input": lambda m, x: m.gradient((x * 10).long(), spacing=2),
}


@pytest.mark.parametrize("name", list(GRADIENTS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gradient(name, dtype):
    values = np.random.default_rng(2).standard_normal((4, 5)).astype(dtype)
    outputs = []
    for m in (torch, dg):
        x = m.tensor(values, requires_grad=True)
        result, error = _run(m, lambda m, x=x: GRADIENTS[name](m, x))
        if error is not None:
            outputs.append(type(error))
            continue
        differentiable = [r for r in result if r.requires_grad]
        if differentiable:
            sum(((r * (i + 1)) ** 2).sum() for i, r in enumerate(differentiable)).backward()
        outputs.append(([r.detach().numpy() for r in result], [str(r.dtype)[-7:] for r in result],
                        None if x.grad is None else x.grad.numpy()))
    expected, actual = outputs
    if isinstance(expected, type):
        assert actual is expected or (isinstance(actual, type) and issubclass(actual, expected))
        return
    tolerance = 1e-5 if dtype == "float32" else 1e-12
    assert len(actual[0]) == len(expected[0]) and actual[1] == expected[1]
    for a, e in zip(actual[0], expected[0]):
        np.testing.assert_allclose(a, e, rtol=tolerance, atol=tolerance)
    if expected[2] is not None:
        np.testing.assert_allclose(actual[2], expected[2], rtol=tolerance, atol=tolerance)


def test_numpy_force_detaches_and_cuda_bf16_is_unsupported():
    torch = pytest.importorskip("torch")
    for lib in (torch, dg):
        x = lib.ones(3, requires_grad=True)
        assert np.array_equal(x.numpy(force=True), np.ones(3, np.float32))
        with pytest.raises(RuntimeError):
            x.numpy()
    assert dg.cuda.is_bf16_supported() is torch.cuda.is_bf16_supported() is False
