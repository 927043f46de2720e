"""``torch._dynamo.eval_frame``: ``OptimizedModule`` (the class of what ``torch.compile`` makes of
a module) and ``is_dynamo_supported``. deltagrad has no compiler, so an OptimizedModule is a thin
eager wrapper: it holds the module as ``_orig_mod`` (its parameters are that module's, saved
under ``_orig_mod.`` as in PyTorch) and its forward calls it."""

from __future__ import annotations

from ..nn.module import Module

__all__ = ["OptimizedModule", "is_dynamo_supported"]


def is_dynamo_supported() -> bool:
    """False: deltagrad has no Dynamo (``torch.compile`` runs models eagerly)."""
    return False


class OptimizedModule(Module):
    """A module wrapped as ``torch.compile`` wraps it in PyTorch; here it runs ``_orig_mod``
    eagerly. ``deltagrad.compile`` itself returns the module unchanged and never makes one.

    Args:
        mod: the module to wrap.
        dynamo_ctx: PyTorch's compiler context (kept, unused).
    """

    def __init__(self, mod: Module, dynamo_ctx=None) -> None:
        super().__init__()
        self._orig_mod = mod
        self.dynamo_ctx = dynamo_ctx

    def forward(self, *args, **kwargs):
        return self._orig_mod(*args, **kwargs)

    def __getattr__(self, name: str):
        # Attributes the wrapper lacks are the wrapped module's, as in PyTorch.
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name == "_orig_mod":
                raise
            return getattr(self._orig_mod, name)
