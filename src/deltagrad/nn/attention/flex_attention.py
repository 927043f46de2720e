"""``torch.nn.attention.flex_attention``: the mask-function helpers (``and_masks``, ``or_masks``,
``noop_mask``, ``create_mask``) work; ``flex_attention`` and ``create_block_mask`` are not
supported (PyTorch's block-sparse kernel) and raise NotImplementedError, so a program never gets
a silently different attention. transformers imports these names at load time and uses them
only with ``attn_implementation="flex_attention"``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from ..._engine import Tensor
from ..._engine.api.creation import arange, ones, zeros
from ..._engine.dtypes import bool as _BOOL

__all__ = ["AuxOutput", "AuxRequest", "BlockMask", "FlexKernelOptions", "and_masks",
           "create_block_mask", "create_mask", "flex_attention", "noop_mask", "or_masks"]

# PyTorch's default block size of a BlockMask (transformers reads it at import time).
_DEFAULT_SPARSE_BLOCK_SIZE = 128

FlexKernelOptions = dict


def _unsupported(what: str) -> NotImplementedError:
    return NotImplementedError(f"deltagrad.nn.attention.flex_attention: {what} is not supported "
                               "(no block-sparse attention kernel); use scaled_dot_product_"
                               "attention with a dense mask (create_mask) instead")


class AuxRequest(NamedTuple):
    """Which extra outputs ``flex_attention`` should return."""

    lse: bool = False
    max_scores: bool = False


class AuxOutput(NamedTuple):
    """The extra outputs ``flex_attention`` returns when asked."""

    lse: Tensor | None = None
    max_scores: Tensor | None = None


class BlockMask:
    """PyTorch's block-sparse attention mask: not supported (making one raises
    NotImplementedError); the class exists for ``isinstance`` checks and annotations."""

    def __init__(self, *args, **kwargs) -> None:
        raise _unsupported("BlockMask")

    @classmethod
    def from_kv_blocks(cls, *args, **kwargs):
        """Not supported (see the class)."""
        raise _unsupported("BlockMask.from_kv_blocks")


def flex_attention(query, key, value, score_mod=None, block_mask=None, scale=None,
                   enable_gqa: bool = False, return_lse: bool = False, kernel_options=None, *,
                   return_aux=None):
    """Not supported: raises NotImplementedError."""
    raise _unsupported("flex_attention")


def create_block_mask(mask_mod, B, H, Q_LEN, KV_LEN, device=None, BLOCK_SIZE=128,  # noqa: N803
                      _compile=False, separate_full_blocks: bool = True,
                      compute_dq_write_order: bool = False, dq_kv_order: bool = True):
    """Not supported (there is no BlockMask): raises NotImplementedError."""
    raise _unsupported("create_block_mask")


def noop_mask(batch: Tensor, head: Tensor, token_q: Tensor, token_kv: Tensor) -> Tensor:
    """The mask function that keeps every position: a 0-d ``True``."""
    return ones((), dtype=_BOOL)


def and_masks(*mask_mods: Callable) -> Callable:
    """A mask function keeping a position where every one of ``mask_mods`` keeps it."""
    if not all(callable(mod) for mod in mask_mods):
        raise RuntimeError(f"All inputs should be callable mask_mods: {mask_mods}")

    def and_mask(b, h, q_idx, kv_idx):
        result = ones((), dtype=_BOOL)
        for mod in mask_mods:
            result = result & mod(b, h, q_idx, kv_idx)
        return result

    return and_mask


def or_masks(*mask_mods: Callable) -> Callable:
    """A mask function keeping a position where any one of ``mask_mods`` keeps it."""
    if not all(callable(mod) for mod in mask_mods):
        raise RuntimeError(f"All inputs should be callable mask_mods: {mask_mods}")

    def or_mask(b, h, q_idx, kv_idx):
        result = zeros((), dtype=_BOOL)
        for mod in mask_mods:
            result = result | mod(b, h, q_idx, kv_idx)
        return result

    return or_mask


def create_mask(mod_fn: Callable, B: int | None, H: int | None, Q_LEN: int,  # noqa: N803
                KV_LEN: int, device=None) -> Tensor:
    """The dense boolean mask ``[B, H, Q_LEN, KV_LEN]`` of a mask function (``mod_fn(b, h,
    q_idx, kv_idx)``), evaluated once on broadcast index tensors (PyTorch vmaps it over every
    position: the same values for the elementwise mask functions it is meant for; a function
    that branches on a tensor's value raises here, never answers differently).

    Args:
        mod_fn: the mask function.
        B, H: batch and head counts (None: 1).
        Q_LEN, KV_LEN: query and key lengths.
        device: the CPU (or None).
    """
    batches, heads = (1 if B is None else B), (1 if H is None else H)
    b = arange(batches).reshape(batches, 1, 1, 1)
    h = arange(heads).reshape(1, heads, 1, 1)
    q_idx = arange(Q_LEN).reshape(1, 1, Q_LEN, 1)
    kv_idx = arange(KV_LEN).reshape(1, 1, 1, KV_LEN)
    mask = mod_fn(b, h, q_idx, kv_idx)
    return mask.to(_BOOL).expand(batches, heads, Q_LEN, KV_LEN).contiguous()
