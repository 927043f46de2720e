"""PyTorch's private ``torch.utils.data._utils`` paths that libraries import (monai)."""

from . import collate

__all__ = ["collate"]
