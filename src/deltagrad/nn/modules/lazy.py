"""``torch.nn.modules.lazy``: the mixin that makes a module lazy (torchaudio's transforms import
it from here)."""

from ..lazy import LazyModuleMixin

__all__ = ["LazyModuleMixin"]
