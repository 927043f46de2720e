"""``torch.nn.modules.distance``: the pairwise-distance and cosine-similarity modules."""

from ..more_layers import CosineSimilarity, PairwiseDistance

__all__ = ["CosineSimilarity", "PairwiseDistance"]
