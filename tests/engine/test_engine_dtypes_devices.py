"""dtype objects (NumPy interop, bfloat16, the default dtype), devices and the CPU-only answers
(cuda, backends), process settings (print options, threads) and generators' seeds."""

import copy
import pickle

import numpy as np
import pytest

import deltagrad as dg


def test_a_dtype_is_one_object_equal_to_its_numpy_dtype():
    x = dg.ones(2)
    assert x.dtype is dg.float32 and x.dtype is dg.float
    # (equal only to itself, as PyTorch's: tests/parity/test_s27_DT1_dtype_eq.py)
    assert x.dtype != np.float32 and x.dtype != np.dtype("float32") and x.dtype != "float32"
    assert np.dtype(x.dtype) == np.float32
    assert x.dtype != dg.float64 and dg.int64 == dg.long and dg.int32 is dg.int
    assert hash(dg.float32) == hash(np.dtype(np.float32))
    assert {np.dtype(np.float32): "found"}[dg.float32] == "found"
    assert isinstance(x.dtype, dg.dtype) and x.dtype.kind == "f" and x.dtype.char == "f"
    assert dg.tensor(np.zeros(2, np.uint16)).dtype == dg.uint16


def test_numpy_takes_a_dtype_wherever_it_takes_its_own():
    assert np.zeros(2, dtype=dg.int16).dtype == np.int16
    assert np.arange(3).astype(dg.float16).dtype == np.float16
    assert np.dtype(dg.bool) == np.bool_ and np.finfo(dg.float64).bits == 64
    assert np.issubdtype(dg.int8, np.integer)


def test_dtypes_survive_copy_and_pickle():
    assert copy.deepcopy(dg.float64) is dg.float64 and copy.copy(dg.int8) is dg.int8
    assert pickle.loads(pickle.dumps({"d": dg.uint8}))["d"] is dg.uint8
    assert pickle.loads(pickle.dumps(dg.device("cpu", 0))) == dg.device("cpu:0")


def test_bfloat16_exists_and_every_use_makes_bfloat16():
    # (ml_dtypes' NumPy dtype, loaded on first use; values: tests/engine/test_s9_B1_bfloat16.py)
    assert isinstance(dg.bfloat16, dg.dtype) and repr(dg.bfloat16) == "deltagrad.bfloat16"
    assert dg.bfloat16.is_floating_point and dg.bfloat16 != dg.float16
    assert dg.ones(1).dtype != dg.bfloat16 and np.dtype(np.float32) != dg.bfloat16
    uses = [lambda: dg.zeros(2, dtype=dg.bfloat16), lambda: dg.tensor([1.0], dtype=dg.bfloat16),
            lambda: dg.ones(2).to(dg.bfloat16), lambda: dg.ones(2).bfloat16(),
            lambda: dg.ones(2).type(dg.bfloat16),
            lambda: dg.nn.Linear(2, 2).to(dg.bfloat16).weight]
    for use in uses:
        assert use().dtype == dg.bfloat16
    assert np.zeros(1, dtype=dg.bfloat16).dtype.name == "bfloat16"
    dg.set_default_dtype(dg.bfloat16)  # (as PyTorch; values: tests/engine/test_s9_B2_bf16.py)
    try:
        assert dg.tensor([1.5]).dtype == dg.bfloat16
    finally:
        dg.set_default_dtype(dg.float32)
    with pytest.raises(TypeError, match="only floating-point types"):
        dg.set_default_dtype(dg.int32)


def test_string_dtype_names_as_pytorch_prints_them():
    assert dg.ones(1).to(dtype="torch.float64").dtype == dg.float64
    assert dg.ones(1).type("deltagrad.IntTensor").dtype == dg.int32


def test_default_dtype_changes_what_python_floats_become():
    dg.set_default_dtype(dg.float64)
    try:
        assert dg.get_default_dtype() is dg.float64
        assert dg.tensor([1.0]).dtype == dg.float64 and dg.zeros(1).dtype == dg.float64
        assert repr(dg.tensor([1.5])) == "tensor([1.5000])"  # the default is not printed
        assert (repr(dg.tensor([1.5], dtype=dg.float32))
                == "tensor([1.5000], dtype=deltagrad.float32)")
        assert (dg.tensor([1, 2]) * 0.5).dtype == dg.float64
    finally:
        dg.set_default_dtype(dg.float32)
    assert dg.tensor([1.0]).dtype == dg.float32 and (dg.tensor([1, 2]) * 0.5).dtype == dg.float32


def test_float16_with_integers_stays_float16():
    # NumPy gives float64 for float16 + int64; PyTorch keeps the floating operand's dtype.
    assert (dg.ones(2, dtype=dg.float16) + dg.tensor([1, 2])).dtype == dg.float16


def test_devices_and_the_cpu_only_error():
    assert str(dg.ones(1).device) == "cpu" and dg.ones(1).is_cpu
    for bad in (lambda: dg.zeros(2, device="cuda"), lambda: dg.ones(1).to("cuda:0"),
                lambda: dg.ones(1).cuda(), lambda: dg.tensor([1.0], device=dg.device("mps")),
                lambda: dg.arange(3, device=0), lambda: dg.nn.Linear(2, 2).cuda(),
                lambda: dg.nn.Linear(2, 2).to("cuda"), lambda: dg.randn(2, device="cuda")):
        with pytest.raises(RuntimeError, match="deltagrad runs on the CPU"):
            bad()
    with pytest.raises(RuntimeError, match="device type"):
        dg.device("gpu")
    model = dg.nn.Linear(2, 2)
    assert model.to("cpu") is model and model.cpu() is model
    assert model.to(dg.device("cpu"), dg.float64).weight.dtype == dg.float64
    assert model.to(dg.ones(1, dtype=dg.float32)).weight.dtype == dg.float32


def test_cuda_and_backends_answer_for_the_cpu():
    assert dg.cuda.is_available() is False and dg.cuda.device_count() == 0
    assert dg.cuda.manual_seed(0) is None and dg.cuda.manual_seed_all(0) is None
    dg.cuda.empty_cache()
    with pytest.raises(RuntimeError, match="CPU only"):
        dg.cuda.synchronize()
    assert not dg.backends.mps.is_available() and not dg.backends.cudnn.is_available()
    before = dg.backends.cudnn.deterministic, dg.backends.cudnn.benchmark
    dg.backends.cudnn.deterministic, dg.backends.cudnn.benchmark = True, False
    dg.backends.cuda.matmul.allow_tf32 = True
    assert dg.backends.cudnn.deterministic and dg.backends.cuda.matmul.allow_tf32
    dg.backends.cudnn.deterministic, dg.backends.cudnn.benchmark = before
    dg.backends.cuda.matmul.allow_tf32 = False


def test_factories_accept_pin_memory_and_layout():
    x = dg.zeros(2, pin_memory=False, layout=dg.strided, device="cpu")
    assert x.layout is dg.strided and dg.tensor([1.0], pin_memory=True).shape == (1,)
    with pytest.raises(RuntimeError, match="layout"):
        dg.ones(2, layout=dg.sparse_coo)


def test_print_options():
    try:
        dg.set_printoptions(precision=2)
        assert repr(dg.tensor([1.23456])) == "tensor([1.23])"
        dg.set_printoptions(threshold=5, edgeitems=2)
        assert "..." in repr(dg.arange(10))
        dg.set_printoptions(sci_mode=True)
        assert "e" in repr(dg.tensor([1.5]))
        dg.set_printoptions(profile="full")
        assert "..." not in repr(dg.arange(2000))
    finally:
        dg.set_printoptions(profile="default")
    assert repr(dg.tensor([1.23456])) == "tensor([1.2346])"


def test_thread_settings(monkeypatch):
    from deltagrad._engine import threads
    from deltagrad._engine.api import settings

    # (the recorded counts go back to "not set" and the pool to its size after the test)
    monkeypatch.setattr(settings._Threads, "intra", settings._Threads.intra)
    monkeypatch.setattr(settings._Threads, "interop", settings._Threads.interop)
    monkeypatch.setattr(threads._State, "count", threads.count())
    before = dg.get_num_threads()
    assert before >= 1
    dg.set_num_threads(1)
    assert dg.get_num_threads() == 1
    dg.set_num_threads(before)
    for bad in (0, -2):
        with pytest.raises(RuntimeError, match="positive"):
            dg.set_num_threads(bad)
    with pytest.raises(RuntimeError, match="expects an int"):
        dg.set_num_threads(2.0)
    dg.set_num_interop_threads(3)
    assert dg.get_num_interop_threads() == 3


def test_deterministic_flag():
    assert not dg.are_deterministic_algorithms_enabled()
    dg.use_deterministic_algorithms(True, warn_only=True)
    assert dg.are_deterministic_algorithms_enabled()
    assert dg.is_deterministic_algorithms_warn_only_enabled()
    dg.use_deterministic_algorithms(False)
    assert not dg.are_deterministic_algorithms_enabled()


def test_generators_seed_as_pytorch():
    assert dg.Generator().initial_seed() == 67280421310721  # PyTorch's default seed too
    assert dg.Generator("cpu").device == dg.device("cpu")
    assert dg.Generator(5).initial_seed() == 5
    g = dg.Generator().manual_seed(3)
    assert g.initial_seed() == 3
    first = dg.randn(3, generator=g)
    new_seed = g.seed()
    assert g.initial_seed() == new_seed
    assert not np.array_equal(dg.randn(3, generator=g).numpy(), first.numpy()) or new_seed == 3
    state = g.get_state()
    a = dg.rand(2, generator=g)
    g.set_state(state)
    np.testing.assert_array_equal(dg.rand(2, generator=g).numpy(), a.numpy())
    with pytest.raises(RuntimeError, match="CPU"):
        dg.Generator("cuda")
    try:
        assert isinstance(dg.manual_seed(11), dg.Generator) and dg.initial_seed() == 11
        drawn = dg.seed()
        assert dg.initial_seed() == drawn
    finally:
        dg.manual_seed(0)


def test_legacy_tensor_types():
    assert dg.LongTensor([1, 2]).dtype == dg.int64 and dg.FloatTensor(2, 3).shape == (2, 3)
    assert dg.FloatTensor().shape == (0,) and not dg.DoubleTensor(2).numpy().any()
    x = dg.ones(2)
    assert dg.FloatTensor(x) is not x and dg.FloatTensor(x).data_ptr() == x.data_ptr()
    assert repr(dg.LongTensor) == "<class 'deltagrad.LongTensor'>"
    with pytest.raises(RuntimeError, match="CPU"):
        dg.FloatTensor(2, device="cuda")
