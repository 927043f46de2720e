"""``torch.nn.modules.transformer``: the Transformer modules and the helpers code written
against this path imports (``_get_clones``, ``_get_activation_fn``,
``_generate_square_subsequent_mask``)."""

from .. import functional as F
from ..transformer import (
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
    _clones,
)

__all__ = ["Transformer", "TransformerDecoder", "TransformerDecoderLayer", "TransformerEncoder",
           "TransformerEncoderLayer"]


def _get_clones(module, N):  # noqa: N803 - PyTorch's argument name
    """``N`` deep copies of ``module`` in a ModuleList."""
    return _clones(module, N)


def _get_activation_fn(activation: str):
    """``F.relu`` or ``F.gelu`` by name (PyTorch's RuntimeError for anything else)."""
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return F.gelu
    raise RuntimeError(f"activation should be relu/gelu, not {activation}")


def _generate_square_subsequent_mask(sz: int, device=None, dtype=None):
    """A float ``[sz, sz]`` causal mask: -inf above the diagonal, 0 elsewhere."""
    return Transformer.generate_square_subsequent_mask(sz, device=device, dtype=dtype)
