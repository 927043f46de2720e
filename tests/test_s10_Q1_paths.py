"""torch.quantization / torch.ao.quantization / torch.nn.quantized under deltagrad: the module
paths libraries import resolve; configs, observers, fake quantization and FloatFunctional match
PyTorch; what needs quantized tensors raises NotImplementedError when used."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import deltagrad as dg
import deltagrad.ao.quantization as dq
import deltagrad.nn.quantized as dnq

torch = pytest.importorskip("torch")
tq = pytest.importorskip("torch.ao.quantization")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
pytestmark = pytest.mark.filterwarnings("ignore:Please use quant_min and quant_max")

# Paths third-party libraries need at import time (tests/programs/scan_torch_imports.py found
# them; bayesian-torch's are the first five).
PATHS = [
    "torch.quantization.observer.HistogramObserver",
    "torch.quantization.observer.PerChannelMinMaxObserver",
    "torch.quantization.observer.MinMaxObserver",
    "torch.quantization.qconfig.QConfig",
    "torch.nn.quantized.BatchNorm2d",
    "torch.nn.quantized.FloatFunctional",
    "torch.nn.quantized.functional.linear",
    "torch.nn.quantized.dynamic.Linear",
    "torch.nn.quantized.modules.Conv2d",
    "torch.ao.nn.quantized.FloatFunctional",
    "torch.ao.nn.quantized.dynamic.LSTM",
    "torch.ao.nn.quantized.functional.conv2d",
    "torch.ao.quantization.QConfigMapping",
    "torch.ao.quantization.qconfig_mapping.get_default_qconfig_mapping",
    "torch.ao.quantization.fake_quantize.FakeQuantize",
    "torch.ao.quantization.quant_type.QuantType",
    "torch.ao.quantization.stubs.QuantStub",
    "torch.ao.quantization.quantize_fx.prepare_fx",
    "torch.ao.quantization.quantization_mappings.no_observer_set",
    "torch.ao.quantization.utils",
    "torch.quantization.QuantStub",
    "torch.quantization.fake_quantize.default_fake_quant",
    "torch.quantization.quantize_fx",
    "torch.quantization.quant_type.QuantType",
    "torch.qint8", "torch.quint8", "torch.qint32", "torch.per_tensor_symmetric",
    "torch.per_channel_affine", "torch.sparse_csc",
    "torch.cuda.max_memory_allocated", "torch.cuda.reset_peak_memory_stats",
    "torch.cuda.reset_max_memory_allocated", "torch.cuda.get_device_capability",
    "torch.xpu.memory_allocated", "torch.xpu.max_memory_allocated",
    "torch.xpu.reset_peak_memory_stats",
    "torch.nn.utils.convert_parameters.parameters_to_vector",
]

_RESOLVE = r"""
import importlib, sys
if sys.argv[1] == "deltagrad":
    import deltagrad
    deltagrad.install_as_torch()
import torch
bad = []
for path in sys.argv[2:]:
    obj, name = torch, "torch"
    for part in path.split(".")[1:]:
        name += "." + part
        try:
            obj = getattr(obj, part)
        except AttributeError:
            try:
                obj = importlib.import_module(name)
            except ImportError as error:
                bad.append(f"{path}: {error}")
                break
print("\n".join(bad))
"""


def _unresolved(side: str) -> str:
    environment = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
    done = subprocess.run([sys.executable, "-c", _RESOLVE, side, *PATHS], capture_output=True,
                          text=True, env=environment, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_paths_resolve_under_the_alias_as_in_torch():
    assert _unresolved("torch") == ""  # the list names real PyTorch paths
    assert _unresolved("deltagrad") == ""


def test_public_names_match_torch():
    import torch.ao.quantization.observer as observer
    import torch.ao.quantization.qconfig as qconfig
    import torch.nn.quantized as nnq

    assert sorted(dq.__all__) == sorted(tq.__all__)
    assert sorted(dq.observer.__all__) == sorted(observer.__all__)
    assert sorted(dq.qconfig.__all__) == sorted(qconfig.__all__)
    names = {name for name in dir(nnq) if not name.startswith("_")}
    assert names <= set(dir(dnq)), names - set(dir(dnq))
    assert dg.quantization.QConfig is dq.QConfig
    assert dg.quantization.observer.MinMaxObserver is dq.MinMaxObserver
    assert dg.ao.nn.quantized.FloatFunctional is dnq.FloatFunctional


def _pair(name: str):
    """(torch's object, deltagrad's) for a top-level name such as 'qint8'."""
    return getattr(torch, name), getattr(dg, name)


OBSERVERS = {
    "minmax": lambda m, t: m.MinMaxObserver(),
    "minmax_symmetric_qint8": lambda m, t: m.MinMaxObserver(
        dtype=t.qint8, qscheme=t.per_tensor_symmetric),
    "minmax_custom_range": lambda m, t: m.MinMaxObserver(quant_min=0, quant_max=15),
    "moving_average": lambda m, t: m.MovingAverageMinMaxObserver(averaging_constant=0.3),
    "per_channel": lambda m, t: m.PerChannelMinMaxObserver(ch_axis=1),
    "per_channel_symmetric": lambda m, t: m.PerChannelMinMaxObserver(
        dtype=t.qint8, qscheme=t.per_channel_symmetric),
    "per_channel_float_qparams": lambda m, t: m.PerChannelMinMaxObserver(
        qscheme=t.per_channel_affine_float_qparams),
    "moving_average_per_channel": lambda m, t: m.MovingAveragePerChannelMinMaxObserver(
        ch_axis=1, averaging_constant=0.5),
    "histogram": lambda m, t: m.HistogramObserver(),
    "histogram_reduced_256": lambda m, t: m.HistogramObserver(reduce_range=True, bins=256),
    "histogram_symmetric": lambda m, t: m.HistogramObserver(
        dtype=t.qint8, qscheme=t.per_tensor_symmetric),
    "default_observer": lambda m, t: m.default_observer(),
    "default_weight_observer": lambda m, t: m.default_weight_observer(),
    "default_per_channel_weight": lambda m, t: m.default_per_channel_weight_observer(),
}


def _batches(kind: str):
    rng = np.random.default_rng(0)
    if kind == "heavy":  # heavy tails: the histogram search trims outliers
        return [rng.standard_t(3, size=(32, 16)).astype(np.float32) for _ in range(3)]
    return [(rng.normal(size=(4, 8)) * scale + shift).astype(np.float32)
            for scale, shift in ((1, 0), (3, 1), (0.5, -2))]


def _same(real, ours) -> None:
    real, ours = real.detach(), ours.detach()
    assert str(real.dtype).split(".")[1] == str(ours.dtype).split(".")[1]
    assert tuple(real.shape) == tuple(ours.shape)
    np.testing.assert_array_equal(real.numpy(), ours.numpy())


@pytest.mark.parametrize("kind", ["plain", "heavy"])
@pytest.mark.parametrize("name", sorted(OBSERVERS))
def test_observers_match_torch(name, kind):
    real, ours = OBSERVERS[name](tq, torch), OBSERVERS[name](dq, dg)
    for batch in _batches(kind):
        x = dg.tensor(batch)
        assert ours(x) is x
        real(torch.tensor(batch))
    for buffer in ("min_val", "max_val", "histogram"):
        if hasattr(real, buffer):
            _same(getattr(real, buffer), getattr(ours, buffer))
    for real_part, our_part in zip(real.calculate_qparams(), ours.calculate_qparams(),
                                   strict=True):
        _same(real_part, our_part)
    assert repr(ours) == repr(real).replace("torch.", "deltagrad.")


def test_observer_before_any_input_warns_and_defaults():
    for module in (tq, dq):
        with pytest.warns(UserWarning, match="must run observer"):
            scale, zero_point = module.MinMaxObserver().calculate_qparams()
        assert float(scale) == 1.0 and int(zero_point) == 0


def test_observer_argument_errors_match_torch():
    for module, lib in ((tq, torch), (dq, dg)):
        with pytest.raises(NotImplementedError):
            module.MinMaxObserver(qscheme=lib.per_channel_affine)
        with pytest.raises(AssertionError):
            module.MinMaxObserver(quant_min=1, quant_max=10)
        with pytest.raises(NotImplementedError):
            module.PerChannelMinMaxObserver(qscheme=lib.per_tensor_affine)
        with pytest.raises(AssertionError):
            module.MinMaxObserver(dtype=lib.float32)


FAKE_QUANTS = ["default_fake_quant", "default_weight_fake_quant", "default_histogram_fake_quant",
               "default_per_channel_weight_fake_quant",
               "default_fixed_qparams_range_0to1_fake_quant"]


@pytest.mark.parametrize("name", FAKE_QUANTS)
def test_fake_quantize_matches_torch_values_and_gradients(name):
    real, ours = getattr(tq, name)(), getattr(dq, name)()
    rng = np.random.default_rng(3)
    for step in range(3):
        batch = (rng.normal(size=(5, 7)) * (step + 1)).astype(np.float32)
        x_real = torch.tensor(batch, requires_grad=True)
        x_ours = dg.tensor(batch, requires_grad=True)
        y_real, y_ours = real(x_real), ours(x_ours)
        (y_real * torch.arange(7.0)).sum().backward()
        (y_ours * dg.arange(7.0)).sum().backward()
        _same(y_real, y_ours)
        _same(x_real.grad, x_ours.grad)
    _same(real.scale, ours.scale)
    _same(real.zero_point, ours.zero_point)
    assert sorted(real.state_dict()) == sorted(ours.state_dict())


@pytest.mark.parametrize("name", ["PerChannelMinMaxObserver", "HistogramObserver",
                                  "default_fake_quant", "default_per_channel_weight_fake_quant"])
def test_torch_observer_state_loads_into_deltagrad(name):
    # Per-channel ranges and scales take the saved shapes (empty / [1] before any input).
    real = getattr(tq, name)()
    real(torch.tensor(np.random.default_rng(5).normal(size=(4, 8)).astype(np.float32)))
    ours = getattr(dq, name)()
    ours.load_state_dict({key: dg.tensor(value.numpy()) for key, value
                          in real.state_dict().items()})
    for key, value in real.state_dict().items():
        _same(value, ours.state_dict()[key])
    for real_part, our_part in zip(real.calculate_qparams(), ours.calculate_qparams(),
                                   strict=True):
        _same(real_part, our_part)


def test_fake_quantize_switches():
    ours = dq.default_fake_quant()
    ours.apply(dq.disable_fake_quant)
    ours.apply(dq.disable_observer)
    x = dg.tensor([0.1234, -2.5])
    assert ours(x) is x
    assert int(ours.fake_quant_enabled[0]) == 0 and int(ours.observer_enabled[0]) == 0
    with pytest.raises(NotImplementedError, match="FusedMovingAvgObsFakeQuantize"):
        dq.default_fused_act_fake_quant()


def test_qconfig_is_torchs_namedtuple():
    qconfig = dq.QConfig(activation=dq.MinMaxObserver.with_args(dtype=dg.quint8),
                         weight=dq.default_weight_observer)
    assert qconfig._fields == tq.QConfig._fields == ("activation", "weight")
    assert isinstance(qconfig, tuple)
    assert isinstance(qconfig.activation(), dq.MinMaxObserver)
    assert qconfig.activation() is not qconfig.activation()
    for module in (tq, dq):
        with pytest.raises(ValueError, match="observer instance"):
            module.QConfig(activation=module.MinMaxObserver(), weight=module.MinMaxObserver)
    assert dq.qconfig_equals(dq.get_default_qconfig("fbgemm"), dq.get_default_qconfig("x86"))
    assert not dq.qconfig_equals(dq.get_default_qconfig("qnnpack"), dq.get_default_qconfig())
    for backend in ("x86", "fbgemm", "qnnpack", "onednn"):
        for version in (0, 1):
            real = tq.get_default_qat_qconfig(backend, version)
            ours = dq.get_default_qat_qconfig(backend, version)
            assert real.activation.p.keywords.keys() == ours.activation.p.keywords.keys()
            assert real.activation.p.func.__name__ == ours.activation.p.func.__name__
        real, ours = tq.get_default_qconfig(backend), dq.get_default_qconfig(backend)
        assert real.activation.p.keywords == ours.activation.p.keywords
        assert real.weight.p.keywords.keys() == ours.weight.p.keywords.keys()
    with pytest.raises(AssertionError):
        dq.get_default_qconfig("arm")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        assert dq.QConfigDynamic().weight is dg.nn.Identity


def test_qconfig_mapping_round_trips():
    mapping = (dq.QConfigMapping().set_global(dq.default_qconfig)
               .set_object_type(dg.nn.Linear, None)
               .set_module_name("head", dq.default_per_channel_qconfig)
               .set_module_name_object_type_order("body", dg.nn.ReLU, 0, dq.default_qconfig))
    again = dq.QConfigMapping.from_dict(mapping.to_dict())
    assert again.to_dict() == mapping.to_dict()
    assert mapping.to_dict()["module_name_object_type_order"] == [
        ("body", dg.nn.ReLU, 0, dq.default_qconfig)]


def test_float_functional_matches_torch():
    a, b = np.arange(6, dtype=np.float32).reshape(2, 3) - 2, np.full((2, 3), -1.5, np.float32)
    real, ours = torch.nn.quantized.FloatFunctional(), dnq.FloatFunctional()
    ta, tb, da, db = torch.tensor(a), torch.tensor(b), dg.tensor(a), dg.tensor(b)
    _same(real.add(ta, tb), ours.add(da, db))
    _same(real.add_relu(ta, tb), ours.add_relu(da, db))
    _same(real.mul(ta, tb), ours.mul(da, db))
    _same(real.add_scalar(ta, 2.5), ours.add_scalar(da, 2.5))
    _same(real.mul_scalar(ta, -2.0), ours.mul_scalar(da, -2.0))
    _same(real.cat([ta, tb], dim=1), ours.cat([da, db], dim=1))
    _same(real.matmul(ta, tb.T), ours.matmul(da, db.T))
    assert repr(ours) == repr(real)
    for functional in (real, ours, dnq.FXFloatFunctional()):
        with pytest.raises(RuntimeError, match="not intended to use the 'forward'"):
            functional(ta if functional is real else da)


def test_quantized_things_refuse_when_used_not_when_imported():
    with pytest.raises(NotImplementedError, match=r"torch\.nn\.quantized\.BatchNorm2d"):
        dnq.BatchNorm2d(3)
    with pytest.raises(NotImplementedError, match=r"torch\.nn\.quantized\.dynamic\.Linear"):
        dnq.dynamic.Linear(3, 2)
    with pytest.raises(NotImplementedError, match="from_float"):
        dnq.Linear.from_float(dg.nn.Linear(3, 2))
    with pytest.raises(NotImplementedError, match=r"functional\.linear"):
        dnq.functional.linear(dg.ones(2, 3), dg.ones(2, 3))
    model = dg.nn.Sequential(dq.QuantStub(), dg.nn.Linear(3, 2), dq.DeQuantStub())
    for call in (lambda: dq.prepare(model), lambda: dq.convert(model),
                 lambda: dq.quantize_dynamic(model), lambda: dq.get_default_qconfig_mapping(),
                 lambda: dq.quantize_fx.prepare_fx(model, {}, ())):
        with pytest.raises(NotImplementedError, match="no quantized tensors"):
            call()
    x = dg.ones(1, 3)
    np.testing.assert_array_equal(model(x).detach().numpy(), model[1](x).detach().numpy())


def test_quantized_dtypes_and_schemes():
    for name in ("qint8", "quint8", "qint32", "quint4x2", "quint2x4"):
        real, ours = _pair(name)
        assert repr(ours) == repr(real).replace("torch", "deltagrad")
        assert ours.itemsize == real.itemsize and not ours.is_floating_point
        with pytest.raises(TypeError, match="not supported"):
            dg.zeros(2, dtype=ours)
    for name in ("per_tensor_affine", "per_tensor_symmetric", "per_channel_affine",
                 "per_channel_symmetric", "per_channel_affine_float_qparams"):
        real, ours = _pair(name)
        assert repr(ours) == repr(real).replace("torch", "deltagrad")
        assert isinstance(ours, dg.qscheme)
    import pickle

    assert pickle.loads(pickle.dumps(dg.qint8)) is dg.qint8
    assert pickle.loads(pickle.dumps(dg.per_tensor_affine)) is dg.per_tensor_affine
    assert dg.qint8 != dg.int8 and dg.sparse_csc is not dg.sparse_coo


_BAYESIAN = r"""
import deltagrad
deltagrad.install_as_torch()
import torch
assert torch.nn.quantized.FloatFunctional  # an attribute after `import torch`, as in PyTorch
from bayesian_torch.layers import LinearReparameterization
import bayesian_torch.quantization
x = torch.randn(5, 4, generator=torch.Generator().manual_seed(1))
torch.manual_seed(3)
plain = LinearReparameterization(4, 3)
torch.manual_seed(3)
stubbed = LinearReparameterization(4, 3)
stubbed.prepare()  # QuantStubs with QConfig(MinMaxObserver.with_args(...)): float until convert
torch.manual_seed(4)
out_plain, kl_plain = plain(x)
torch.manual_seed(4)
out_stubbed, kl_stubbed = stubbed(x)
assert torch.equal(out_plain, out_stubbed) and torch.equal(kl_plain, kl_stubbed)
try:
    bayesian_torch.quantization.convert(torch.nn.Sequential(stubbed))  # torch's convert first
except NotImplementedError as error:
    assert "no quantized tensors" in str(error), error
    print("refused")
"""


def test_bayesian_torch_imports_and_its_float_paths_run_under_the_alias():
    pytest.importorskip("bayesian_torch")
    environment = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"), OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", _BAYESIAN], capture_output=True,
                          text=True, env=environment, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "refused"
