"""``torch.nn.modules.sparse``: the embedding layers."""

from ..layers import Embedding
from ..more_layers import EmbeddingBag

__all__ = ["Embedding", "EmbeddingBag"]
