"""``torch.nn.modules.dropout``: the dropout modules and their base ``_DropoutNd``."""

from ..dropout import AlphaDropout, Dropout1d, Dropout2d, Dropout3d, FeatureAlphaDropout, _DropoutNd
from ..layers import Dropout

__all__ = ["AlphaDropout", "Dropout", "Dropout1d", "Dropout2d", "Dropout3d",
           "FeatureAlphaDropout", "_DropoutNd"]
