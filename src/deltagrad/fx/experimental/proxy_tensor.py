"""``torch.fx.experimental.proxy_tensor``: deltagrad has no tracing modes."""

from __future__ import annotations

__all__ = ["get_proxy_mode", "make_fx"]


def get_proxy_mode() -> None:
    """The active proxy-tensor tracing mode: none ever is (programs run eagerly)."""
    return None


def make_fx(*args, **kwargs):
    """PyTorch's graph capture by tracing: not supported (deltagrad has no graph tracer)."""
    raise NotImplementedError("deltagrad.fx.experimental.proxy_tensor.make_fx is not supported "
                              "(deltagrad has no graph tracer; programs run eagerly)")
