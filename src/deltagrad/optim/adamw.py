"""``torch.optim.adamw``: PyTorch's module path of AdamW (defined beside Adam, in adam.py)."""

from .adam import AdamW

__all__ = ["AdamW"]
