"""Names real training scripts import that deltagrad now answers: torch.mps (CPU-build
behaviour), torch.export, torch.utils.cpp_extension, torch.ao.quantization / torch.quantization,
torch.masked (clear NotImplementedError where deltagrad cannot compute PyTorch's numbers), and
torch.utils.tensorboard's import rule."""

import os
import subprocess
import sys

import numpy as np
import pytest

import deltagrad as dg
import deltagrad.ao.quantization as ao_quantization
import deltagrad.export as export
import deltagrad.masked as masked
import deltagrad.mps as mps
import deltagrad.quantization as quantization
import deltagrad.utils.cpp_extension as cpp_extension

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")


def _outcome(call):
    try:
        return ("value", call())
    except Exception as error:
        return (type(error).__name__, str(error))


MPS_CALLS = {
    "is_available": lambda m: m.is_available(),
    "device_count": lambda m: m.device_count(),
    "synchronize": lambda m: m.synchronize(),
    "empty_cache": lambda m: m.empty_cache(),
    "manual_seed": lambda m: m.manual_seed(3),
    "manual_seed_str": lambda m: m.manual_seed("x"),
    "seed": lambda m: m.seed(),
    "get_rng_state": lambda m: m.get_rng_state(),
    "current_allocated_memory": lambda m: m.current_allocated_memory(),
    "driver_allocated_memory": lambda m: m.driver_allocated_memory(),
    "recommended_max_memory": lambda m: m.recommended_max_memory(),
    "set_per_process_memory_fraction": lambda m: m.set_per_process_memory_fraction(0.5),
    "compile_shader": lambda m: m.compile_shader("kernel void f() {}"),
    "profiler_start": lambda m: m.profiler.start(),
    "profiler_stop": lambda m: m.profiler.stop(),
}


@pytest.mark.parametrize("name", sorted(MPS_CALLS))
def test_mps_matches_cpu_pytorch(name):
    torch = pytest.importorskip("torch")
    expected, got = _outcome(lambda: MPS_CALLS[name](torch.mps)), _outcome(
        lambda: MPS_CALLS[name](mps))
    assert got == expected


def test_mps_without_torch():
    assert mps.is_available() is False and mps.device_count() == 0
    assert dg.backends.mps.is_available() is False
    assert mps.manual_seed(0) is None
    with pytest.raises(RuntimeError, match="acquireEvent"):
        mps.event.Event()
    with pytest.raises(RuntimeError, match="without MPS backend"):
        mps.synchronize()
    with pytest.raises(RuntimeError, match="without MPS backend"):
        with mps.profiler.profile():
            pass


def test_export_refuses_clearly_and_dims_match():
    torch = pytest.importorskip("torch")
    with pytest.raises(NotImplementedError, match="no graph tracer"):
        export.export(dg.nn.Linear(2, 2), (dg.ones(1, 2),))
    for call in (lambda: export.save(None, "x.pt2"), lambda: export.load("x.pt2"),
                 lambda: export.ExportedProgram()):
        with pytest.raises(NotImplementedError, match="no graph tracer"):
            call()
    for args, kwargs in [(("x",), {}), (("x",), {"max": 10}), (("y",), {"min": 2}),
                         (("b",), {"min": 1, "max": 64})]:
        real, ours = torch.export.Dim(*args, **kwargs), export.Dim(*args, **kwargs)
        assert repr(ours) == repr(real) and ours.__name__ == real.__name__
    assert repr(export.dims("a", "b")) == repr(torch.export.dims("a", "b"))
    assert repr(export.Dim.AUTO) == repr(torch.export.Dim.AUTO)
    with pytest.raises(AssertionError, match="inconsistent"):
        export.Dim("x", min=5, max=2)
    with pytest.raises(AssertionError, match="inconsistent"):
        torch.export.Dim("x", min=5, max=2)


def test_cpp_extension_refuses_clearly():
    assert cpp_extension.CUDA_HOME is None
    calls = [lambda: cpp_extension.load("ext", ["ext.cpp"]),
             lambda: cpp_extension.load_inline("ext", "int f() { return 0; }"),
             lambda: cpp_extension.CppExtension("ext", ["ext.cpp"]),
             lambda: cpp_extension.CUDAExtension("ext", ["ext.cu"]),
             lambda: cpp_extension.BuildExtension(),
             lambda: cpp_extension.BuildExtension.with_options(use_ninja=False)]
    for call in calls:
        with pytest.raises(NotImplementedError, match="deltagrad runs no C\\+\\+ extensions"):
            call()


def test_quantize_dynamic_refuses_instead_of_returning_a_float_model():
    torch = pytest.importorskip("torch")
    # PyTorch really quantizes: its int8 outputs differ from the float model's, so handing
    # back the float model would be a silent wrong answer.
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    x = torch.randn(5, 8)
    quantized = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear},
                                                       dtype=torch.qint8)
    assert not torch.equal(quantized(x), model(x))
    ours = dg.nn.Sequential(dg.nn.Linear(8, 4), dg.nn.ReLU(), dg.nn.Linear(4, 2))
    for module in (ao_quantization, quantization):
        with pytest.raises(NotImplementedError, match="quantize_dynamic is not supported"):
            module.quantize_dynamic(ours, {dg.nn.Linear}, dtype=dg.float32)
    for name in ("prepare", "convert", "fuse_modules"):
        assert name in dir(torch.ao.quantization)
        with pytest.raises(NotImplementedError, match="is not supported"):
            getattr(quantization, name)(ours, [["0", "1"]])
    # Configs and observers need no quantized tensors: they are genuine (tests/test_s10_Q1_paths).
    assert isinstance(quantization.get_default_qconfig(), quantization.QConfig)


def test_quant_stubs_pass_through_like_float_pytorch():
    torch = pytest.importorskip("torch")
    x = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    for name in ("QuantStub", "DeQuantStub"):
        real, ours = getattr(torch.ao.quantization, name)(), getattr(quantization, name)()
        assert repr(ours) == repr(real) and list(ours.state_dict()) == []
        np.testing.assert_array_equal(ours(dg.tensor(x)).numpy(),
                                      real(torch.tensor(x)).numpy())
    wrapped = quantization.QuantWrapper(dg.nn.Linear(3, 2))
    real = torch.ao.quantization.QuantWrapper(torch.nn.Linear(3, 2))
    assert list(dict(wrapped.named_children())) == list(dict(real.named_children()))


def test_masked_refuses_clearly():
    torch = pytest.importorskip("torch")
    data, mask = dg.ones(3), dg.tensor([True, False, True])
    for call in (lambda: masked.masked_tensor(data, mask), lambda: masked.MaskedTensor(data),
                 lambda: masked.as_masked_tensor(data, mask)):
        with pytest.raises(NotImplementedError, match="no masked tensors"):
            call()
    assert masked.is_masked_tensor(data) is False
    # The reductions over a dense tensor and a mask= compute (session 13: PyTorch's values).
    assert masked.sum(data, 0, mask=mask).item() == 2.0
    assert set(masked.__all__) <= set(dir(torch.masked))


def test_top_level_names_and_alias_imports():
    # A fresh interpreter: `torch.mps` etc. must work as attributes right after `import torch`.
    code = ("import deltagrad\n"
            "assert deltagrad.mps.device_count() == 0\n"
            "assert callable(deltagrad.export.export)\n"
            "assert callable(deltagrad.ao.quantization.quantize_dynamic)\n"
            "assert callable(deltagrad.quantization.quantize_dynamic)\n"
            "assert callable(deltagrad.masked.masked_tensor)\n"
            "from deltagrad.torch_alias import install\n"
            "install()\n"
            "import torch\n"
            "from torch.utils.cpp_extension import load_inline\n"
            "from torch.export import Dim\n"
            "from torch.ao.quantization import quantize_dynamic\n"
            "from torch.quantization import QuantStub\n"
            "from torch.masked import masked_tensor\n"
            "from torch.utils.tensorboard import SummaryWriter\n"
            "assert torch.mps.is_available() is False\n")
    environment = dict(os.environ, PYTHONPATH=SRC)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=environment, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


def test_tensorboard_import_fails_without_the_package(tmp_path):
    # As in PyTorch: `torch.utils` imports, `torch.utils.tensorboard` raises ImportError.
    (tmp_path / "sitecustomize.py").write_text("import sys\nsys.modules['tensorboard'] = None\n")
    code = ("from deltagrad.torch_alias import install\n"
            "install()\n"
            "import torch.utils\n"
            "try:\n"
            "    import torch.utils.tensorboard\n"
            "except ImportError as error:\n"
            "    print('ImportError', error.name)\n")
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), SRC]))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=environment, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ImportError tensorboard"
