"""``torch.ao.quantization.qconfig``: QConfig (which observer or fake-quantize constructor to
use for activations and for weights) and PyTorch's named configurations."""

from __future__ import annotations

import functools
import warnings
from collections import namedtuple

from ... import _engine as dg
from ...nn.layers import Identity
from ...nn.module import Module
from .fake_quantize import (
    FakeQuantize,
    FusedMovingAvgObsFakeQuantize,
    default_dynamic_fake_quant,
    default_embedding_fake_quant,
    default_embedding_fake_quant_4bit,
    default_fake_quant,
    default_fused_act_fake_quant,
    default_fused_per_channel_wt_fake_quant,
    default_fused_wt_fake_quant,
    default_per_channel_weight_fake_quant,
    default_weight_fake_quant,
    fused_per_channel_wt_fake_quant_range_neg_127_to_127,
    fused_wt_fake_quant_range_neg_127_to_127,
)
from .observer import (
    HistogramObserver,
    MinMaxObserver,
    MovingAverageMinMaxObserver,
    NoopObserver,
    PlaceholderObserver,
    _PartialWrapper,
    default_debug_observer,
    default_dynamic_quant_observer,
    default_float_qparams_observer,
    default_float_qparams_observer_4bit,
    default_observer,
    default_per_channel_weight_observer,
    default_placeholder_observer,
    default_reuse_input_observer,
    default_weight_observer,
    per_channel_weight_observer_range_neg_127_to_127,
    weight_observer_range_neg_127_to_127,
)

__all__ = ["QConfig", "QConfigAny", "QConfigDynamic", "default_activation_only_qconfig",
           "default_debug_qconfig", "default_dynamic_qat_qconfig", "default_dynamic_qconfig",
           "default_embedding_qat_qconfig", "default_embedding_qat_qconfig_4bit",
           "default_per_channel_qconfig", "default_per_channel_symmetric_qnnpack_qat_qconfig",
           "default_per_channel_symmetric_qnnpack_qconfig", "default_qat_qconfig",
           "default_qat_qconfig_v2", "default_qconfig", "default_quint8_weight_qconfig",
           "default_reuse_input_qconfig", "default_symmetric_qnnpack_qat_qconfig",
           "default_symmetric_qnnpack_qconfig", "default_weight_only_qconfig",
           "float16_dynamic_qconfig", "float16_static_qconfig",
           "float_qparams_weight_only_qconfig", "float_qparams_weight_only_qconfig_4bit",
           "get_default_qat_qconfig", "get_default_qat_qconfig_dict", "get_default_qconfig",
           "get_default_qconfig_dict", "per_channel_dynamic_qconfig", "qconfig_equals"]

_INSTANCE = ("{} received observer instance, please pass observer class instead. Use "
             "MyObserver.with_args(x=1) to override arguments to constructor if needed")


class QConfig(namedtuple("QConfig", ["activation", "weight"])):
    """The observer (or fake-quantize) constructors for a layer's activations and weights:
    classes or ``with_args`` partials, never instances (ValueError, as PyTorch)."""

    __slots__ = ()

    def __new__(cls, activation, weight):
        if isinstance(activation, Module) or isinstance(weight, Module):
            raise ValueError(_INSTANCE.format("QConfig"))
        return super().__new__(cls, activation, weight)


class QConfigDynamic(namedtuple("QConfigDynamic", ["activation", "weight"])):
    """Deprecated form of QConfig for dynamic quantization (FutureWarning, as PyTorch)."""

    __slots__ = ()

    def __new__(cls, activation=Identity, weight=Identity):
        warnings.warn("`QConfigDynamic` is going to be deprecated in PyTorch 1.12, please use "
                      "`QConfig` instead", FutureWarning, stacklevel=2)
        if isinstance(weight, Module):
            raise ValueError(_INSTANCE.format("QConfigDynamic"))
        return super().__new__(cls, activation, weight)


QConfigAny = QConfig | None

default_qconfig = QConfig(activation=default_observer, weight=default_weight_observer)
default_debug_qconfig = QConfig(weight=default_weight_observer, activation=default_debug_observer)
default_per_channel_qconfig = QConfig(activation=default_observer,
                                      weight=default_per_channel_weight_observer)
default_dynamic_qconfig = QConfig(activation=default_dynamic_quant_observer,
                                  weight=default_weight_observer)
float16_dynamic_qconfig = QConfig(
    activation=PlaceholderObserver.with_args(dtype=dg.float16, is_dynamic=True),
    weight=PlaceholderObserver.with_args(dtype=dg.float16))
float16_static_qconfig = QConfig(activation=PlaceholderObserver.with_args(dtype=dg.float16),
                                 weight=PlaceholderObserver.with_args(dtype=dg.float16))
per_channel_dynamic_qconfig = QConfig(activation=default_dynamic_quant_observer,
                                      weight=default_per_channel_weight_observer)
float_qparams_weight_only_qconfig = QConfig(activation=default_placeholder_observer,
                                            weight=default_float_qparams_observer)
float_qparams_weight_only_qconfig_4bit = QConfig(activation=default_placeholder_observer,
                                                 weight=default_float_qparams_observer_4bit)
default_qat_qconfig = QConfig(activation=default_fake_quant, weight=default_weight_fake_quant)
default_dynamic_qat_qconfig = QConfig(activation=default_dynamic_fake_quant,
                                      weight=default_weight_fake_quant)
default_weight_only_qconfig = QConfig(activation=Identity, weight=default_weight_fake_quant)
default_activation_only_qconfig = QConfig(activation=default_fake_quant, weight=Identity)
default_qat_qconfig_v2 = QConfig(activation=default_fused_act_fake_quant,
                                 weight=default_fused_wt_fake_quant)
default_reuse_input_qconfig = QConfig(activation=default_reuse_input_observer,
                                      weight=NoopObserver)
default_symmetric_qnnpack_qconfig = QConfig(
    activation=HistogramObserver.with_args(dtype=dg.qint8, reduce_range=False, eps=2 ** -12),
    weight=weight_observer_range_neg_127_to_127)
default_per_channel_symmetric_qnnpack_qconfig = QConfig(
    activation=HistogramObserver.with_args(dtype=dg.qint8, reduce_range=False, eps=2 ** -12),
    weight=per_channel_weight_observer_range_neg_127_to_127)
default_embedding_qat_qconfig = QConfig(activation=NoopObserver.with_args(dtype=dg.float32),
                                        weight=default_embedding_fake_quant)
default_embedding_qat_qconfig_4bit = QConfig(
    activation=NoopObserver.with_args(dtype=dg.float32), weight=default_embedding_fake_quant_4bit)
default_quint8_weight_qconfig = QConfig(activation=HistogramObserver, weight=MinMaxObserver)
_SYMMETRIC_QAT_ACTIVATION = FusedMovingAvgObsFakeQuantize.with_args(
    observer=MovingAverageMinMaxObserver, quant_min=-128, quant_max=127, dtype=dg.qint8,
    reduce_range=False, eps=2 ** -12)
default_symmetric_qnnpack_qat_qconfig = QConfig(
    activation=_SYMMETRIC_QAT_ACTIVATION, weight=fused_wt_fake_quant_range_neg_127_to_127)
default_per_channel_symmetric_qnnpack_qat_qconfig = QConfig(
    activation=_SYMMETRIC_QAT_ACTIVATION,
    weight=fused_per_channel_wt_fake_quant_range_neg_127_to_127)

_BACKENDS = ["fbgemm", "x86", "qnnpack", "onednn"]


def _check_backend(backend: str) -> None:
    if backend not in _BACKENDS:
        raise AssertionError(f"backend: {backend} not supported. backend must be one of "
                             f"{_BACKENDS}")


def get_default_qconfig(backend: str = "x86", version: int = 0) -> QConfig:
    """PyTorch's default post-training QConfig for ``backend`` (x86, fbgemm, qnnpack,
    onednn): a histogram observer for activations, min/max for weights."""
    _check_backend(backend)
    if version != 0:
        raise AssertionError(f"Version number: {version} in get_default_qconfig is not "
                             "supported. Version number must be 0")
    reduce_range = backend in ("fbgemm", "x86")
    weight = (default_weight_observer if backend == "qnnpack"
              else default_per_channel_weight_observer)
    return QConfig(activation=HistogramObserver.with_args(reduce_range=reduce_range),
                   weight=weight)


def get_default_qat_qconfig(backend: str = "x86", version: int = 1) -> QConfig:
    """PyTorch's default quantization-aware-training QConfig for ``backend`` (version 0:
    FakeQuantize; version 1, the default: the fused fake-quantize, which deltagrad names but
    cannot build)."""
    _check_backend(backend)
    if version not in (0, 1):
        raise AssertionError(f"Version number: {version}in get_default_qat_qconfig is not "
                             "supported. Version number must be 0 or 1")
    maker = FakeQuantize if version == 0 else FusedMovingAvgObsFakeQuantize
    options = {"observer": MovingAverageMinMaxObserver, "quant_min": 0, "quant_max": 255}
    if backend != "onednn":
        options["reduce_range"] = backend != "qnnpack"
    if backend == "qnnpack":
        weight = default_weight_fake_quant if version == 0 else default_fused_wt_fake_quant
    else:
        weight = (default_per_channel_weight_fake_quant if version == 0
                  else default_fused_per_channel_wt_fake_quant)
    return QConfig(activation=maker.with_args(**options), weight=weight)


def get_default_qconfig_dict(backend: str = "x86", version: int = 0) -> dict:
    """Deprecated dict form of get_default_qconfig_mapping (see qconfig_mapping)."""
    from .qconfig_mapping import get_default_qconfig_mapping

    return get_default_qconfig_mapping(backend, version).to_dict()


def get_default_qat_qconfig_dict(backend: str = "x86", version: int = 1) -> dict:
    """Deprecated dict form of get_default_qat_qconfig_mapping (see qconfig_mapping)."""
    from .qconfig_mapping import get_default_qat_qconfig_mapping

    return get_default_qat_qconfig_mapping(backend, version).to_dict()


def _constructor_equals(first, second) -> bool:
    if isinstance(first, _PartialWrapper) and isinstance(second, _PartialWrapper):
        return _partial_equals(first.p, second.p) and first.callable_args == second.callable_args
    if isinstance(first, functools.partial) and isinstance(second, functools.partial):
        return _partial_equals(first, second)
    return first == second


def _partial_equals(first, second) -> bool:
    return (first.func == second.func and first.args == second.args
            and first.keywords == second.keywords)


def qconfig_equals(q1, q2) -> bool:
    """Whether two QConfigs name the same constructors with the same arguments."""
    if q1 is None or q2 is None:
        return q1 == q2
    try:
        return (_constructor_equals(q1.activation, q2.activation)
                and _constructor_equals(q1.weight, q2.weight))
    except AttributeError:
        return q1 == q2
