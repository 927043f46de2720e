"""Names session 30 left missing (s31 MM1), each against PyTorch's own answer: torch.nn.parallel's
data_parallel / parallel_apply / replicate / comm submodules and functions (CPU-only PyTorch
raises or degrades; we do the same), nn.utils.init / memory_format, multiprocessing.spawn,
distributed.rendezvous, export.unflatten, torch._C._nn's rrelu_with_noise / fractional max pools
/ antialiased upsampling, and the rest of torch.cuda's CPU-only answers."""

from __future__ import annotations

import importlib
import pathlib
import warnings

import numpy as np
import pytest

import deltagrad as dg
import deltagrad._C  # noqa: F401 - loaded by the alias, not by `import deltagrad`

torch = pytest.importorskip("torch")


def _outcome(call):
    try:
        return ("value", call())
    except Exception as error:  # noqa: BLE001 - the outcome is what is compared
        return (type(error), str(error))


def _same_outcome(theirs, ours) -> None:
    """Both values equal, or both raise and ours is an instance of PyTorch's exception type."""
    if theirs[0] == "value" or ours[0] == "value":
        assert ours == theirs
        return
    assert issubclass(ours[0], theirs[0]), (theirs, ours)


# ---------------------------------------------------------------------------------------------
# torch.nn.parallel
def _parallel_cases(m):
    lin, x = m.nn.Linear(2, 2), m.ones(1, 2)
    parallel = m.nn.parallel
    return {
        "data_parallel": lambda: parallel.data_parallel(lin, x),
        "parallel_apply": lambda: parallel.parallel_apply([lin], [x]),
        "parallel_apply_two": lambda: parallel.parallel_apply([lin, lin], [(x,), (x,)]),
        "parallel_apply_empty": lambda: parallel.parallel_apply([], []),
        "parallel_apply_lengths": lambda: parallel.parallel_apply([lin], []),
        "parallel_apply_kwargs": lambda: parallel.parallel_apply([lin], [x], [{}, {}]),
        "parallel_apply_devices": lambda: parallel.parallel_apply([lin], [x], devices=[0]),
        "replicate_none": lambda: parallel.replicate(lin, []),
        "replicate_params": lambda: parallel.replicate(lin, [0]),
        "replicate_cpu": lambda: parallel.replicate(m.nn.ReLU(), [m.device("cpu")]),
        "scatter_kwargs": lambda: parallel.scatter_gather.scatter_kwargs((1, [2]), {"a": 3},
                                                                          [0, 1]),
        "scatter_kwargs_inputs": lambda: parallel.scatter_gather.scatter_kwargs((1,), {}, [0]),
        "scatter_kwargs_kwargs": lambda: parallel.scatter_gather.scatter_kwargs((), {"a": 1},
                                                                          [0, 1]),
        "replicate_no_params": lambda: [repr(r) for r in parallel.replicate(
            m.nn.Sequential(m.nn.ReLU(), m.nn.Tanh()), [0, 1])],
    }


@pytest.mark.parametrize("case", sorted(_parallel_cases(torch)))
def test_nn_parallel_functions_as_cpu_pytorch(case):
    _same_outcome(_outcome(_parallel_cases(torch)[case]),
                  _outcome(_parallel_cases(dg)[case]))


def test_nn_parallel_submodules():
    for name in ("data_parallel", "parallel_apply", "replicate", "comm", "scatter_gather"):
        theirs = importlib.import_module(f"torch.nn.parallel.{name}")
        ours = importlib.import_module(f"deltagrad.nn.parallel.{name}")
        public = {n for n in getattr(theirs, "__all__", dir(theirs))
                  if not n.startswith("_") and callable(getattr(theirs, n))
                  and getattr(getattr(theirs, n), "__module__", "").startswith("torch.nn")}
        assert public <= set(dir(ours)), (name, public - set(dir(ours)))
    # the package's attributes stay the functions, as PyTorch's
    for name in ("data_parallel", "parallel_apply", "replicate"):
        assert callable(getattr(dg.nn.parallel, name)) and callable(getattr(torch.nn.parallel,
                                                                            name))
    from deltagrad.nn.parallel.parallel_apply import get_a_var

    x = dg.ones(1)
    assert get_a_var(x) is x and get_a_var([1, (x,)]) is x and get_a_var({"a": x}) is x
    assert get_a_var(3) is None and get_a_var([1, "a"]) is None
    from deltagrad.nn.parallel import comm

    # (PyTorch: AttributeError from its missing CUDA bindings; here the CPU error)
    for call in (lambda: comm.broadcast(x, [0]),
                 lambda: dg.nn.parallel.scatter_gather.scatter_kwargs((x,), {}, [0])):
        with pytest.raises(RuntimeError, match="CPU only"):
            call()


def test_replicas_of_a_module_without_tensors_are_separate_copies():
    net = dg.nn.Sequential(dg.nn.ReLU(), dg.nn.Sequential(dg.nn.Tanh()))
    replicas = dg.nn.parallel.replicate(net, [0, 1])
    assert len(replicas) == 2 and replicas[0] is not net and replicas[0] is not replicas[1]
    assert replicas[0][1] is not net[1] and type(replicas[0][1][0]) is dg.nn.Tanh
    x = dg.tensor([-1.0, 2.0])
    assert dg.equal(replicas[1](x), net(x))


# ---------------------------------------------------------------------------------------------
# nn.utils.init / nn.utils.memory_format, multiprocessing.spawn, export.unflatten
def test_nn_utils_submodules():
    from deltagrad.nn.utils.init import skip_init
    from deltagrad.nn.utils.memory_format import convert_conv2d_weight_memory_format

    assert skip_init is dg.nn.utils.skip_init
    assert convert_conv2d_weight_memory_format is dg.nn.utils.convert_conv2d_weight_memory_format
    for name in ("init", "memory_format"):
        theirs = importlib.import_module(f"torch.nn.utils.{name}")
        public = {n for n in dir(theirs) if "memory_format" in n or n == "skip_init"}
        assert public <= set(dir(getattr(dg.nn.utils, name)))
    layer = skip_init(dg.nn.Linear, 3, 2)
    assert layer.weight.shape == (2, 3)


def test_multiprocessing_spawn_module():
    spawn_module = importlib.import_module("deltagrad.multiprocessing.spawn")
    real = importlib.import_module("torch.multiprocessing.spawn")
    public = {n for n in dir(real) if n[0].isupper() or n in ("spawn", "start_processes")}
    public -= {"ThreadPoolExecutor"}
    assert public <= set(dir(spawn_module)), public - set(dir(spawn_module))
    assert spawn_module.ENV_VAR_PARALLEL_START == real.ENV_VAR_PARALLEL_START
    assert callable(dg.multiprocessing.spawn) and spawn_module.spawn is dg.multiprocessing.spawn
    with pytest.warns(UserWarning, match="SpawnContext is renamed to ProcessContext"):
        context = spawn_module.SpawnContext([], [])
    assert context.join() is True


def test_export_unflatten_refuses():
    unflatten = importlib.import_module("deltagrad.export.unflatten")
    real = importlib.import_module("torch.export.unflatten")
    assert set(real.__all__) <= set(dir(unflatten))
    assert callable(dg.export.unflatten)
    for name in ("FlatArgsAdapter", "InterpreterModule", "UnflattenedModule"):
        with pytest.raises(NotImplementedError, match="no graph tracer"):
            getattr(unflatten, name)()
    with pytest.raises(NotImplementedError, match="no graph tracer"):
        unflatten.unflatten(None)


# ---------------------------------------------------------------------------------------------
# torch.distributed.rendezvous
def _rendezvous_cases(m, folder):
    rendezvous = m.distributed.rendezvous

    def first(*args, **kwargs):
        store, rank, size = next(rendezvous(*args, **kwargs))
        return type(store).__name__, rank, size

    path = folder / "store"
    return {
        "not_a_string": lambda: rendezvous(3),
        "rank_not_int": lambda: rendezvous("file:///x", rank=1.5),
        "size_not_int": lambda: rendezvous("file:///x", world_size="2"),
        "no_handler": lambda: rendezvous("foo://x"),
        "file": lambda: first(f"file://{path}", rank=0, world_size=1),
        "file_query": lambda: first(f"file://{path}?rank=0&world_size=1"),
        "file_no_rank": lambda: first(f"file://{path}", world_size=1),
        "file_no_size": lambda: first(f"file://{path}", rank=0),
        "file_no_path": lambda: first("file://", rank=0, world_size=1),
        "twice": lambda: first(f"file://{path}?rank=0", rank=0, world_size=1),
        "tcp_no_port": lambda: first("tcp://localhost", rank=0, world_size=1),
        "tcp_no_rank": lambda: first("tcp://localhost:1234", world_size=1),
        "env_no_rank": lambda: first("env://"),
    }


@pytest.mark.parametrize("case", sorted(_rendezvous_cases(torch, pathlib.Path("."))))
def test_rendezvous_as_pytorch(case, tmp_path, monkeypatch):
    for variable in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(variable, raising=False)
    theirs = _outcome(_rendezvous_cases(torch, tmp_path)[case])
    ours = _outcome(_rendezvous_cases(dg, tmp_path)[case])
    if theirs[0] != "value" and ours[0] != "value":
        assert ours[1] == theirs[1]
    _same_outcome(theirs, ours)


def test_rendezvous_handlers_and_tcp_store(monkeypatch):
    from deltagrad.distributed.rendezvous import register_rendezvous_handler, rendezvous

    with pytest.raises(RuntimeError, match="file:// already registered"):
        register_rendezvous_handler("file", None)

    def mine(url, **kwargs):
        yield url, kwargs

    register_rendezvous_handler("s31mm1", mine)
    assert next(rendezvous("s31mm1://h", rank=2, world_size=4, extra=1)) == (
        "s31mm1://h?rank=2&world_size=4", {"extra": 1})
    # env:// reads its variables as PyTorch's, then needs a TCPStore: refused clearly
    for name, value in (("RANK", "0"), ("WORLD_SIZE", "1"), ("MASTER_ADDR", "localhost"),
                        ("MASTER_PORT", "29500")):
        monkeypatch.setenv(name, value)
    with pytest.raises(NotImplementedError, match="TCP are not supported"):
        next(rendezvous("env://"))


# ---------------------------------------------------------------------------------------------
# torch._C._nn
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_rrelu_with_noise(training, dtype):
    x = np.random.RandomState(0).randn(5, 7).astype(dtype)
    x[0, 0], x[1, 1], x[2, 2] = np.nan, 0.0, -0.0
    weights = np.arange(35.0).reshape(5, 7).astype(dtype)
    results = []
    for m in (torch, dg):
        m.manual_seed(3)
        noise = m.full((5, 7), 7.0, dtype=getattr(m, dtype))
        leaf = m.tensor(x, requires_grad=True)
        out = m._C._nn.rrelu_with_noise(leaf, noise, 0.1, 0.3, training)
        (out * m.tensor(weights)).nansum().backward()
        results.append((out.detach().numpy(), noise.numpy(), leaf.grad.numpy(),
                        out.grad_fn.name(), m.rand(2).numpy()))
    for theirs, ours in zip(*results):
        if isinstance(theirs, str):
            assert ours == theirs
        else:
            np.testing.assert_array_equal(ours, theirs)


def test_rrelu_with_noise_in_place_and_errors():
    x = np.random.RandomState(1).randn(4, 3).astype(np.float32)
    results = []
    for m in (torch, dg):
        m.manual_seed(5)
        data, noise = m.tensor(x), m.zeros(4, 3)
        back = m._C._nn.rrelu_with_noise_(data, noise, 0.2, 0.4, True)
        results.append((back is data, data.numpy(), noise.numpy()))
        for args in ((m.zeros(2), 0.1, 0.3, False), (m.zeros(4, 3, dtype=m.float64), 0.1, 0.3,
                                                     True)):
            with pytest.raises(RuntimeError) as error:
                m._C._nn.rrelu_with_noise(m.tensor(x), *args)
            results[-1] += (str(error.value),)
    for theirs, ours in zip(*results):
        if isinstance(theirs, np.ndarray):
            np.testing.assert_array_equal(ours, theirs)
        else:
            assert ours == theirs


def test_fractional_max_pool_bindings():
    rng = np.random.RandomState(2)
    for dims, shape, kernel, size in ((2, (2, 3, 9, 8), [2, 2], [5, 4]),
                                      (3, (1, 2, 6, 7, 6), [2, 2, 2], [3, 4, 3])):
        x = rng.rand(*shape).astype(np.float32)
        samples = rng.rand(shape[0], shape[1], dims).astype(np.float32)
        name = f"fractional_max_pool{dims}d"
        theirs = getattr(torch._C._nn, name)(torch.tensor(x), kernel, size, torch.tensor(samples))
        ours = getattr(dg._C._nn, name)(dg.tensor(x), kernel, size, dg.tensor(samples))
        for a, b in zip(theirs, ours):
            np.testing.assert_array_equal(b.numpy(), a.numpy())


@pytest.mark.parametrize("name", ["_upsample_bilinear2d_aa", "_upsample_bicubic2d_aa"])
def test_antialiased_upsample_bindings(name):
    image = np.random.RandomState(3).rand(1, 2, 16, 12).astype(np.float32)
    for args in (([5, 7], False), ([5, 7], False, None, None), (None, False, [0.3, 0.5]),
                 ([20, 15], False)):
        theirs = getattr(torch._C._nn, name)(torch.tensor(image), *args)
        ours = getattr(dg._C._nn, name)(dg.tensor(image), *args)
        assert tuple(ours.shape) == tuple(theirs.shape)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=0, atol=1e-6)
    with pytest.raises(NotImplementedError, match="Lanczos"):
        dg._C._nn._upsample_lanczos2d_aa(dg.tensor(image), [4, 4], False)


# ---------------------------------------------------------------------------------------------
# torch.cuda on a machine without CUDA
def _cuda_cases(m):
    cuda = m.cuda

    def enter(context):
        with context as value:
            return value

    calls = {name: (lambda name=name: getattr(cuda, name)()) for name in (
        "current_blas_handle", "current_stream", "default_stream", "get_arch_list",
        "get_device_properties", "get_gencode_flags", "get_per_process_memory_fraction",
        "get_rng_state", "get_sync_debug_mode", "host_memory_stats",
        "host_memory_stats_as_nested_dict", "init", "initial_seed", "ipc_collect",
        "is_tf32_supported", "list_gpu_processes", "max_memory_cached", "max_memory_reserved",
        "mem_get_info", "memory_cached", "memory_reserved", "memory_stats",
        "memory_stats_as_nested_dict", "memory_summary", "caching_allocator_enable")}
    calls.update({
        "memory_reserved_cpu": lambda: cuda.memory_reserved("cpu"),
        "memory_stats_cuda3": lambda: cuda.memory_stats("cuda:3"),
        "set_per_process_memory_fraction": lambda: cuda.set_per_process_memory_fraction(0.5),
        "set_sync_debug_mode": lambda: cuda.set_sync_debug_mode(0),
        "caching_allocator_alloc": lambda: cuda.caching_allocator_alloc(16, 0),
        "device0": lambda: enter(cuda.device(0)),
        "device_minus1": lambda: enter(cuda.device(-1)),
        "device_none": lambda: enter(cuda.device(None)),
        "device_cpu": lambda: cuda.device("cpu"),
        "device_cuda1": lambda: enter(cuda.device("cuda:1")),
        "device_of_cpu": lambda: enter(cuda.device_of(m.ones(1))),
        "stream_none": lambda: enter(cuda.stream(None)),
        "set_rng_state": lambda: cuda.set_rng_state(m.get_rng_state()),
        "set_stream_none": lambda: cuda.set_stream(None),
        "set_device_minus1": lambda: cuda.set_device(-1),
        "set_device_cpu": lambda: cuda.set_device("cpu"),
        "use_mem_pool": lambda: enter(cuda.use_mem_pool(None)),
        "constants": lambda: (cuda.has_half, cuda.has_magma),
    })
    return calls


@pytest.mark.parametrize("case", sorted(_cuda_cases(torch)))
def test_cuda_answers_as_cpu_only_pytorch(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = _outcome(_cuda_cases(torch)[case])
        ours = _outcome(_cuda_cases(dg)[case])
    _same_outcome(theirs, ours)


def test_cuda_device_queries_that_pytorch_fails_differently_raise():
    # (PyTorch: AttributeError / ModuleNotFoundError from its missing bindings; here the CPU
    # error) -- a clear refusal either way, never a made-up value
    for name in ("set_device", "memory_snapshot", "reset_accumulated_memory_stats",
                 "reset_max_memory_cached", "temperature", "utilization", "power_draw",
                 "clock_rate", "memory_usage", "device_memory_used", "graph_pool_handle",
                 "is_current_stream_capturing"):
        args = (0,) if name == "set_device" else ()
        with pytest.raises(RuntimeError, match="CPU only"):
            getattr(dg.cuda, name)(*args)
    for name in ("MemPool", "ExternalStream"):
        with pytest.raises(RuntimeError, match="CPU only"):
            getattr(dg.cuda, name)(0)


# ---------------------------------------------------------------------------------------------
# torch.backends.{quantized, mha, cusparselt, nnpack}, top-level build queries
def test_backends_modules():
    real, ours = torch.backends, dg.backends
    assert ours.quantized.supported_engines == real.quantized.supported_engines
    assert ours.quantized.engine == real.quantized.engine
    before = real.quantized.engine
    try:
        for engine in ("qnnpack", "fbgemm"):
            real.quantized.engine = ours.quantized.engine = engine
            assert ours.quantized.engine == real.quantized.engine == engine
        for side in (real, ours):
            with pytest.raises(RuntimeError, match="foo is not a valid value for quantized"):
                side.quantized.engine = "foo"
    finally:
        real.quantized.engine = ours.quantized.engine = before
    assert ours.mha.get_fastpath_enabled() is real.mha.get_fastpath_enabled() is True
    ours.mha.set_fastpath_enabled(False)
    assert ours.mha.get_fastpath_enabled() is False
    ours.mha.set_fastpath_enabled(True)
    for name in ("is_available", "version", "get_max_alg_id"):
        assert getattr(ours.cusparselt, name)() == getattr(real.cusparselt, name)()
    # (PyTorch's build has NNPACK; deltagrad has no NNPACK kernels, as backends.mkldnn says)
    assert ours.nnpack.is_available() is False
    with ours.nnpack.flags(enabled=False):
        assert ours.nnpack.set_flags(False) == (False,)
    assert ours.nnpack.set_flags(True) == (True,)
    assert dg.compiled_with_cxx11_abi() is torch.compiled_with_cxx11_abi()
    assert dg.is_vulkan_available() is torch.is_vulkan_available()


_STORAGES = ["BFloat16Storage", "BoolStorage", "ByteStorage", "CharStorage",
             "ComplexDoubleStorage", "ComplexFloatStorage", "DoubleStorage", "FloatStorage",
             "HalfStorage", "IntStorage", "LongStorage", "ShortStorage"]


def test_legacy_storage_classes():
    def answers(m):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = []
            for name in _STORAGES:
                cls = getattr(m, name)
                made = cls(3)
                out.append((name, str(cls.dtype).rsplit(".", 1)[-1], type(made).__name__,
                            str(made.dtype).rsplit(".", 1)[-1], made.size(),
                            [isinstance(m.ones(2, dtype=dtype).storage(), cls)
                             for dtype in (m.float32, m.float64, m.int64, m.uint8, m.bool)],
                            isinstance(m.ones(1).untyped_storage(), cls)))
            out.append(m.LongStorage([1, 2]).tolist())
            return out

    assert answers(dg) == answers(torch)


# ---------------------------------------------------------------------------------------------
# torch.jit's switches
def test_jit_switches_as_pytorch():
    def run(jit):
        out = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out.append(jit.set_fusion_strategy([("DYNAMIC", 3)]))
            out.append(jit.set_fusion_strategy([("STATIC", 2), ("DYNAMIC", 10)]))
            before = jit.onednn_fusion_enabled()
            jit.enable_onednn_fusion(True)
            out.append((before, jit.onednn_fusion_enabled()))
            jit.enable_onednn_fusion(before)
            out.append(tuple(jit.Attribute(3, int)) + (jit.Attribute._fields,))
            with jit.optimized_execution(False), jit.fuser("fuser1"), jit.strict_fusion():
                out.append("ran")
        out.append(sorted({(w.category.__name__, str(w.message)[:40]) for w in caught}))
        try:
            with jit.fuser("bogus"):
                pass
        except Exception as error:  # noqa: BLE001 - the outcome is compared
            out.append((type(error).__name__, str(error)))
        out.append(issubclass(jit.ScriptWarning, Warning))
        return out

    assert run(dg.jit) == run(torch.jit)


def test_cuda_memory_and_nvtx_modules():
    import deltagrad.cuda.memory as memory

    ours = set(memory.__all__)
    left = {"CUDAPluggableAllocator", "caching_allocator_disabled", "change_current_allocator"}
    assert set(torch.cuda.memory.__all__) - ours == left  # (allocator plug-ins: not offered)
    for name in ours:
        assert getattr(memory, name) is getattr(dg.cuda, name)
    assert memory.memory_reserved() == torch.cuda.memory.memory_reserved() == 0
    assert dg.cuda.nvtx.__name__ == "deltagrad.cuda.nvtx"  # (an attribute after import, as
    with pytest.raises(RuntimeError, match="NVTX functions not installed"):  # PyTorch's)
        dg.cuda.nvtx.range_push("step")
