"""``torch.autograd.anomaly_mode``: the anomaly-detection switches (defined in the engine's
``modes``, where every op reads them)."""

from .._engine.modes import detect_anomaly, is_anomaly_enabled, set_detect_anomaly

__all__ = ["detect_anomaly", "is_anomaly_enabled", "set_detect_anomaly"]
